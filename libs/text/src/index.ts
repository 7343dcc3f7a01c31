export { HIDDEN_CHARACTERS, terminalJson, visibleText } from './visible.js';
