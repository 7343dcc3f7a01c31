import { createContext, useContext } from 'react';
import type { Me, Vocabulary } from './api.js';

export interface Session {
  me: Me;
  vocabularies: Vocabulary[];
  /** Terms of one vocabulary, in its order. */
  terms(name: string): Vocabulary['terms'];
  signOut(): void;
  refreshMe(): Promise<void>;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in console');
  return session;
}
