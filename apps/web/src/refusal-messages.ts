import type { Language } from './api.js';

/**
 * The archive's refusals a console form can meet, in Ukrainian. A refusal's `detail` is English
 * (the same words for capture apps and partner tools); those the console's own forms can provoke
 * and that name no field are here. One not here is shown as the API wrote it, marked as English
 * (`lang="en"`, ErrorNote) so a screen reader does not read it with Ukrainian sounds.
 */
export const REFUSALS_UK: Readonly<Record<string, string>> = {
  'A user with this email already exists': 'Користувач із цією адресою вже є',
  'The current password is wrong': 'Поточний пароль неправильний',
  'The new password is the current one': 'Новий пароль такий самий, як поточний',
  'The password is too short or too long': 'Пароль закороткий або задовгий',
  'The password was changed meanwhile: sign in with the new one and try again': 'Тим часом пароль змінили: увійдіть із новим і спробуйте ще раз',
  'An administrator cannot disable their own account; another administrator can': 'Адміністратор не може вимкнути власний обліковий запис; це може зробити інший адміністратор',
  'The account is disabled: enable it before issuing a token': 'Обліковий запис вимкнено: увімкніть його, перш ніж видавати токен',
  'The user is already a member of this case': 'Цей користувач уже є учасником справи',
  'Only an administrator or an investigator of the case may change its members': 'Змінювати учасників справи може лише адміністратор або слідчий цієї справи',
  'Nothing to change': 'Нічого змінювати',
  'No such user': 'Такого користувача немає',
  'The display name is empty': 'Імʼя для показу порожнє',
  'Say why the account changes': 'Вкажіть, чому змінюється обліковий запис',
  'The expiry lies in the past': 'Дата закінчення дії вже минула',
  'The file is empty (0 bytes): there is nothing to keep; nothing was stored': 'Файл порожній (0 байтів): зберігати нічого; нічого не збережено',
  // The same refusal from a resumable upload's creation.
  'The file is empty (0 bytes): there is nothing to keep': 'Файл порожній (0 байтів): зберігати нічого',
  'The bytes received differ from what the device hashed; nothing was stored': 'Отримані байти відрізняються від тих, для яких пристрій обчислив хеш; нічого не збережено',
  'This export failed; request a new one': 'Цей пакет не вдалося створити; створіть новий',
  'The selection names what this case does not hold': 'У вибірці є те, чого немає в цій справі',
  'A partner copy never carries names': 'Пакет для партнерів ніколи не містить імен',
  'An incident you report starts as reported; an investigator of the case verifies it':
    'Подія, про яку ви повідомляєте, спершу має статус «повідомлено»; перевіряє її слідчий справи',
  'A remnant you report starts as reported; an investigator of the case examines it':
    'Уламок, про який ви повідомляєте, спершу має статус «повідомлено»; оглядає його слідчий справи',
};

/** A refusal's detail in the console's language; `translated` false when it stays as the API wrote it. */
export function refusalMessage(detail: string, lang: Language): { text: string; translated: boolean } {
  if (lang === 'en') return { text: detail, translated: true };
  const uk = REFUSALS_UK[detail];
  return uk ? { text: uk, translated: true } : { text: detail, translated: false };
}
