/**
 * Field problems (`details.problems[].message`, and the same messages from the shared validators
 * of `@kumo/domain` run in the browser) in Japanese. The API and the validators speak English;
 * each message is a small fixed template, so the console translates it by pattern. No DOM access
 * here: `test/unit/problems.test.ts` checks that every message the validators can produce has a
 * translation.
 */
const JA: readonly (readonly [RegExp, string])[] = [
  // The shared validators (@kumo/domain provisioning).
  [/^must not be empty$/, '入力してください'],
  [/^must be at most (\d+) characters$/, '$1 文字以内で入力してください'],
  [/^must not contain control characters$/, '制御文字は使えません'],
  [/^must be an integer between (-?\d+) and (-?\d+)$/, '$1〜$2 の整数で入力してください'],
  [/^must be one of (.+)$/, '次のいずれかにしてください: $1'],
  [/^is required$/, '必須です'],
  [/^is required \(no stored password to keep\)$/, '必須です（保存済みのパスワードがありません）'],
  [/^must be a public number \(\+81… or 0…\)$/, '公衆番号（+81… または 0…）で入力してください'],
  [/^is listed twice$/, '重複しています'],
  [/^must be an extension number$/, '内線番号を入力してください'],
  [/^must be an extension or ring group number$/, '内線番号またはグループ番号を入力してください'],
  [/^must be 1–32 characters of a-z, 0-9, _ and -$/, '半角英小文字・数字・_・- の 1〜32 文字で入力してください'],
  [/^must be 2–32 characters of a-z, 0-9 and -, starting with a letter or digit$/, '英小文字か数字で始まる、英小文字・数字・- の 2〜32 文字で入力してください'],
  [/^must be (\d+)–(\d+) characters$/, '$1〜$2 文字で入力してください'],
  [/^must be 1–6 characters of 0-9, \* and #$/, '0-9・*・# の 1〜6 文字で入力してください'],
  [/^must not start with the outside-line prefix (.*)$/, '外線発信番号 $1 で始めることはできません'],
  [/^must not start with the directed pickup prefix (.*)$/, '指定代理応答の番号 $1 で始めることはできません'],
  [/^must not exceed the contract's trunkChannels \((\d+)\)$/, '契約の局線チャネル数（$1）を超えることはできません'],
  [/^must have at most (\d+) members$/, 'メンバーは $1 件までです'],
  [/^must have at least one member$/, 'メンバーを 1 件以上指定してください'],
  [/^must have at most (\d+) gateways$/, 'ゲートウェイは $1 件までです'],
  [/^must have at least one gateway$/, 'ゲートウェイを 1 件以上指定してください'],
  [/^is the same as (.+)$/, '$1 と同じです'],
  [/^must name at least one role \(ordinary, emergency\)$/, '用途を 1 つ以上選んでください（一般・緊急）'],
  [/^lists a role twice$/, '同じ用途が 2 回指定されています'],
  [/^contradicts roles \(omit it; roles decide\)$/, '用途の指定と矛盾しています'],
  [/^must be printable ASCII without spaces$/, '空白を含まない半角英数字記号で入力してください'],
  [/^must be one digit or empty$/, '数字 1 桁か空欄にしてください'],
  [/^must be a dial string \(digits, \*, #, optional leading \+\)$/, 'ダイヤル番号（数字・*・#、先頭に + 可）で入力してください'],
  [/^must be a dial string$/, 'ダイヤル番号で入力してください'],
  [/^must be a MAC address such as 00:11:22:aa:bb:cc$/, 'MAC アドレス（例 00:11:22:aa:bb:cc）で入力してください'],
  [/^must be a DNS domain name such as pbx\.example\.jp$/, 'ドメイン名（例 pbx.example.jp）で入力してください'],
  [/^is an emergency number$/, '緊急通報番号です'],
  [/^is an emergency number \(110, 118, 119\)$/, '緊急通報番号（110・118・119）です'],
  [/^must be digits only$/, '数字だけで入力してください'],
  [/^must have (\d+) digits \(numbering plan\)$/, '$1 桁で入力してください（番号計画）'],
  [/^must have (\d+)–(\d+) digits$/, '$1〜$2 桁で入力してください'],
  [/^cannot overflow to itself$/, '自分自身にはあふれ転送できません'],
  [/^cannot forward to itself$/, '自分自身には転送できません'],
  [/^cannot forward to an emergency number$/, '緊急通報番号には転送できません'],
  [/^a tenant cannot be created terminated$/, '解約状態のテナントは作成できません'],
  [/^a group cannot contain itself$/, 'グループに自分自身は含められません'],
  [/^must not have leading or trailing spaces$/, '前後に空白を入れないでください'],
  [/^must be an IP address or host name$/, 'IP アドレスかホスト名で入力してください'],
  [/^must be an IP address or a host name with a non-numeric top-level label$/, 'IP アドレスか、数字だけでないトップレベルを持つホスト名で入力してください'],
  [/^must not be localhost \(Kumo's own address\)$/, 'localhost（Kumo 自身）は指定できません'],
  [/^must not be an unspecified address$/, '未指定アドレス（0.0.0.0 など）は指定できません'],
  [/^must not be Kumo's own SIP address \((.+)\)$/, 'Kumo 自身の SIP アドレス（$1）は指定できません'],
  [/^is required when callerName is 'fixed'$/, '発信者名を「固定」にしたときは必須です'],
  [/^is only used when callerName is 'fixed'$/, '発信者名が「固定」のときだけ指定できます'],
  [/^must be in \(0, 1\)$/, '0 より大きく 1 より小さい値にしてください'],
  // The API's schema checks (JSON Schema).
  [/^must have required property '(.+)'$/, '必須項目 $1 がありません'],
  [/^must match format "date-time"$/, '日時の形式が正しくありません'],
  [/^must match format "(.+)"$/, '形式（$1）が正しくありません'],
  [/^must match pattern ".*"$/, '形式が正しくありません'],
  [/^must NOT have more than (\d+) characters$/, '$1 文字以内で入力してください'],
  [/^must NOT have fewer than (\d+) characters?$/, '$1 文字以上で入力してください'],
  [/^must NOT have more than (\d+) items$/, '$1 件までです'],
  [/^must be equal to one of the allowed values$/, '選べる値のいずれかにしてください'],
  [/^must be (integer|string|number|boolean|array|object|null)(,\w+)*$/, '値の種類が正しくありません'],
  [/^must be >= (\S+)$/, '$1 以上にしてください'],
  [/^must be <= (\S+)$/, '$1 以下にしてください'],
  [/^must NOT have additional properties$/, '認識できない項目があります'],
  [/^must match a schema in anyOf$/, '値が正しくありません'],
  [/^is invalid$/, '値が正しくありません'],
];

/** The Japanese of a problem message, or undefined when no pattern knows it. */
export function problemJa(message: string): string | undefined {
  for (const [re, ja] of JA) if (re.test(message)) return message.replace(re, ja);
  return undefined;
}
