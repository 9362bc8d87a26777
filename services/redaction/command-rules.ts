// Secrets in shell commands: a password flag, a tool's own password flag or position, a password piped into a
// command that reads it from stdin, an Oracle logon, and SQL that sets a password. What follows a command's value
// is shell (`&& ls`, `| gzip`), not an expression the value takes part in, so it is not consulted.
import { ESC, keepCode, type Rule, SECRET_WORD, START } from './rule.ts';

/** `--password value`: a flag and its value as separate words; prose (`--token flag`) is kept. */
export const FLAG: Rule = {
  hint: /passw|token|secret|key|cred/i,
  re: /(?<![\w-])--?[\w-]*(?:password|passwd|token|secret|api-?key|access-?key|auth-?key|credentials?)[ \t]+\\?["']?([^\s"'\\]+)/gi,
  to: (m: string, value: string) => (/^[A-Za-z]+$/.test(value) ? m : keepCode(m, value, '', '')),
};

/** Commands that take a password in a flag of their own, and that flag up to the value. */
const COMMAND_FLAGS: ReadonlyArray<readonly [string, string]> = [
  ['mysql|mysqldump|mysqladmin|mariadb|mariadb-dump', String.raw`-p(?=[^\s-])`],
  ['sshpass', String.raw`-p\s*`],
  ['(?:docker|podman|nerdctl|buildah|skopeo|oras|helm registry) login', String.raw`-p\s+`],
  ['mongo|mongosh|mongodump|mongorestore', String.raw`-p\s+`],
  ['redis-cli', String.raw`-a\s+`],
  ['sqlcmd|bcp', String.raw`-P\s*`],
  ['curl', String.raw`(?:-u|--user)\s*\\?["']?[^\s:"'\\]*:`],
  ['http|https|xh|xhs', String.raw`(?:-a|--auth)[\s=]*\\?["']?[^\s:"'\\]*:`],
  ['smbclient', String.raw`-U\s*\\?["']?[^\s%"'\\]*%`],
  ['openssl', String.raw`(?:-pass(?:in|out)?\s+pass:|-k\s+)`],
  ['ldapsearch|ldapadd|ldapmodify|ldapdelete|ldappasswd|ldapwhoami|ldapcompare|ldapmodrdn', String.raw`-w\s*`],
  ['keytool|jarsigner', String.raw`-(?:src|dest|new)?(?:store|key)pass\s+`],
  ['zip|unzip', String.raw`-P\s*`],
  ['7z|7za|7zz|7zr', String.raw`-p(?=[^\s-])`],
  ['lftp', String.raw`-u\s*\\?["']?[^\s,"'\\]*,`],
  ['az login', String.raw`-p\s+`],
  // -b takes the password from the command line: the third word after the flags, the second with -n (no file).
  ['htpasswd', String.raw`-(?=[A-Za-z]*b)(?![A-Za-z]*n)[A-Za-z]+\s+(?:-\S+\s+)*\S+\s+\S+\s+`],
  ['htpasswd', String.raw`-(?=[A-Za-z]*b)(?=[A-Za-z]*n)[A-Za-z]+\s+(?:-\S+\s+)*\S+\s+`],
  ['rabbitmqctl', String.raw`(?:add_user|change_password)\s+\S+\s+`],
  ['ssh-keygen', String.raw`-[NP]\s*`],
  // Windows: `net use \\host\share PASSWORD /user:name` or `/user:name PASSWORD` (not `*`, the prompt, nor a switch).
  ['net use', String.raw`(?:/user:\S+|\\\\\S+)\s+(?![/*])`],
  ['gh secret set', String.raw`(?:-b|--body)[\s=]+`],
  ['nmcli', String.raw`(?:password|wifi-sec\.psk|802-1x\.password)\s+`],
  // `npm config set //registry.npmjs.org/:_authToken x`; with `=` the value is a named value's.
  ['(?:npm|pnpm|yarn) config set', String.raw`(?:[^\s:]{0,200}:)?(?:_authToken|_auth|_password|npmAuthToken|npmAuthIdent)\s+`],
];
// A command's flags end at its line: a newline, or its JSON escape `\n` in function-call arguments, so that one
// command's window never reaches into the next and hides the value of its own flag.
export const COMMAND_FLAG: Rule = {
  hint: /mysql|mariadb|sshpass|login|mongo|redis-cli|sqlcmd|bcp|curl|http|xh|smbclient|openssl|ldap|keytool|jarsigner|zip|7z|lftp|htpasswd|rabbitmqctl|ssh-keygen|net use|gh secret|nmcli|config set/,
  re: new RegExp(
    String.raw`${START}(?:${COMMAND_FLAGS.map(([cmd, flag]) => String.raw`(?:${cmd})\b(?:[^\n;|&\\]|\\(?![nr])){0,200}?\s${flag}`).join('|')})\\?["']?([^\s"'\\]+)`,
    'g',
  ),
  to: (m: string, value: string) => keepCode(m, value, '', ''),
};

/** A password echoed into a command that reads it from its standard input: `echo PW | sudo -S …`. */
export const PIPED: Rule = {
  hint: /sudo|chpasswd|passwd|password-stdin/,
  re: new RegExp(
    String.raw`${START}(?:echo|printf)(?:\s+-[neE]+)*(?:\s+\\?["']?%[^\s"'\\]*\\?["']?)?\s+\\?["']?([^\s"'\\|;&]+)` +
      String.raw`(?=\\?["']?\s*\|\s*(?:sudo\b[^\n|;&\\]{0,80}?\s-S\b|(?:sudo\s+)?chpasswd\b|(?:sudo\s+)?passwd\b[^\n|;&\\]{0,80}?--stdin\b|` +
      String.raw`[\w-]+(?:\s+[\w-]+)?\s+login\b[^\n|;&\\]{0,200}?--password-stdin\b))`,
    'g',
  ),
  to: (m: string, value: string) => keepCode(m, value, '', ''),
};

/** An Oracle logon, `sqlplus user/password@db`: the password goes, the connect string stays. */
export const ORACLE_LOGON: Rule = {
  hint: /(?:sqlplus|rman|expdp|impdp|sqlldr|dgmgrl)\b/,
  re: new RegExp(
    String.raw`${START}(?:sqlplus|rman|expdp|impdp|sqlldr|dgmgrl)\b(?:\s+-\w+)*\s+\\?["']?[\w$#.-]+/([^\s@"'\\/]+)(?=@|\s|\\?["']|$)`,
    'g',
  ),
  to: (m: string, value: string) => keepCode(m, value, '', ''),
};

/** SQL that sets a password: `IDENTIFIED BY '…'`, `WITH [LOGIN] PASSWORD '…'`, `ALTER USER u PASSWORD '…'`. */
export const SQL_PASSWORD: Rule = {
  hint: /identified|password/i,
  re: new RegExp(
    String.raw`\b(?:identified\s+(?:with\s+\w+\s+)?by|(?:with|login|encrypted|(?:user|role)\s+[\w"'\x60.@%-]{1,64})\s+password)` +
      String.raw`\s+\\?["'\x60]([^"'\x60\\\r\n]{1,256})(?=\\?["'\x60])`,
    'gi',
  ),
  to: (m: string, value: string) => keepCode(m, value, 'password', '', true),
};

/** A value as a shell word: quoted up to its quote, or bare up to shell syntax. */
const WORD = String.raw`${ESC}["']?(?:(?<=["'])([^"'\\\r\n]{1,256})|([^\s"'\\;|&()]{1,256}))`;

/** fish's `set -x GITHUB_TOKEN x` (`-gx`, `-Ux`, `--export`) and Windows' `setx OPENAI_API_KEY "x"`. */
export const SHELL_SET: Rule = {
  hint: /set(?:[ \t]+-[A-Za-z]|[ \t]+--(?:export|global|universal)|x[ \t])/i,
  re: new RegExp(
    String.raw`${START}(?:set(?:[ \t]+-[A-Za-z]+|[ \t]+--(?:export|global|universal))+|setx)[ \t]+([\w.-]{0,60}${SECRET_WORD})[ \t]+${WORD}`,
    'gi',
  ),
  to: (m: string, name: string, quoted: string | undefined, plain: string | undefined) =>
    keepCode(m, quoted ?? plain!, name.toLowerCase(), '', true),
};

/** PowerShell's `ConvertTo-SecureString "x" -AsPlainText -Force`: the plain text is the password. */
export const SECURE_STRING: Rule = {
  hint: /ConvertTo-SecureString/i,
  re: new RegExp(String.raw`${START}ConvertTo-SecureString(?:[ \t]+-(?:AsPlainText|Force|String))*[ \t]+${WORD}`, 'gi'),
  to: (m: string, quoted: string | undefined, plain: string | undefined) => keepCode(m, quoted ?? plain!, 'password', '', true),
};

export const COMMAND_RULES: Rule[] = [COMMAND_FLAG, PIPED, ORACLE_LOGON, SQL_PASSWORD, FLAG, SHELL_SET, SECURE_STRING];
