// Whether the value after a secret-looking name is a credential or code. Transcripts are full of
// source code, where `apiKey: params.apiKey` or `token: 'test-key'` names a secret without
// holding one; redacting those garbles the memory and hides nothing.

/** Type names and literals that stand where a value would be declared. */
const TYPE_WORDS = new Set(
  'str string int integer number float bool boolean bytes any unknown object none null nil undefined true false optional required text varchar secretstr'.split(
    ' ',
  ),
);

/** Words that mark a made-up value: `test-key`, `proxy-handled`, `REDACTED_API_KEY`, `your-token-here`. */
const PLACEHOLDER_WORDS = new Set(
  (
    'test testing fake dummy example sample placeholder your my redacted changeme change mock todo proxy handled ' +
    'none dev local demo foo bar baz here insert replace secret key token password pass api not needed unused ' +
    'default value empty invalid wrong bad some random xxx abc ' +
    // nsswitch.conf's sources, as in `passwd: files systemd`
    'files compat systemd sss nis winbind'
  ).split(' '),
);

/**
 * A reference by the symbol that opens it: `$NAME`, `${…}`, `$(…)`, `$dbPass`, `%NAME%`, `%(name)s`, `<your-key>`,
 * `<%= … %>`, `{{ … }}`, `{name}`, `#{…}`, `@name`, `@file.json`. After the symbol comes a name (an identifier, at
 * most two digits at its end) or a bracket, never a word that mixes case and digits, as `$ecretPw9x` and
 * `@dm1nPw99x` do. Outside a literal, `#` opens a comment.
 */
const REFERENCE =
  /^(?:\$\$?(?:[{(]|\d+(?![A-Za-z])|env:|[A-Z_][A-Z0-9_]*(?![A-Za-z0-9])|[A-Za-z_][A-Za-z_]*\d{0,2}(?![A-Za-z0-9]))|%(?:[A-Za-z_][\w()]*%|\(\w+\)[a-z]|[a-z]$|\{)|<(?:[%<(]|[\w .:/|-]{1,80}>)|\{(?:[{%$#]|\s*\.?[A-Za-z_][\w.]*(?:\[[^\]]*\])?\s*(?:[:!][^{}]*)?\})|#\{|@(?:[{./~]|@?[A-Za-z_][A-Za-z_]*\d{0,2}(?![A-Za-z0-9])))/;

const ENV_LOOKUP = /(?:process\.env|import\.meta\.env|os\.environ|getenv|System\.getenv|Deno\.env|ENV\[|ENV\.fetch|env\()/;
const DOTTED_PATH = /^[A-Za-z_$][A-Za-z_$]*(?:\??\.[A-Za-z_$][A-Za-z_$]*)+$/;
const IDENTIFIER = /^[A-Za-z_$][A-Za-z_$]*\d{0,2}$/;
const FILE_PATH = /^(?:~|\.{1,2})?\/[\w./-]*$/;
/**
 * What follows a value that is an expression: a call, an index, an operator, a type union. On the same line: the
 * `+` or `-` that opens the next line of a diff is not an operator.
 */
const EXPRESSION_AFTER = /^(?:\(|\[|[ \t]*(?:\?|\|\||\?\?|&&|\+|\||\.)|!)/;

function isPlaceholder(value: string): boolean {
  if (/^(.)\1*$/.test(value) || value.includes('...') || value.includes('…')) return true;
  if (/\d/.test(value)) return false;
  const words = value.split(/[^A-Za-z]+|(?<=[a-z])(?=[A-Z])/).filter(Boolean);
  return words.some((word) => PLACEHOLDER_WORDS.has(word.toLowerCase()));
}

/**
 * True when `value` (assigned to a secret-looking `name`, followed by `after`) is a code reference,
 * a type, a path or a placeholder rather than a credential. A `literal` value (a quoted string, a .env or shell
 * value) is never an identifier: `password: "SunnyDay99"` and `DB_PASSWORD=BlueSky42` hold the text itself.
 */
export function isCodeOrPlaceholder(value: string, name: string, after: string, literal = false): boolean {
  if (/^\d+$/.test(value) || REFERENCE.test(value) || /^\[REDACTED/.test(value)) return true;
  if (!literal && value.startsWith('#')) return true;
  // A PowerShell cmdlet called for the value: `$pw = Read-Host`, `$pw = ConvertTo-SecureString …`.
  if (!literal && /^[A-Z][A-Za-z]+-[A-Z][A-Za-z]+$/.test(value)) return true;
  if (ENV_LOOKUP.test(value) || EXPRESSION_AFTER.test(after)) return true;
  const bare = value.replace(/[!?]$/, '').toLowerCase();
  if (TYPE_WORDS.has(bare) || bare === name.toLowerCase()) return true;
  if (DOTTED_PATH.test(value) || FILE_PATH.test(value)) return true;
  // An identifier that reads as a name (camelCase, snake_case, $var); `abcdefgh` stays a value.
  if (!literal && IDENTIFIER.test(value) && /[a-z][A-Z]|[_$]/.test(value)) return true;
  return isPlaceholder(value);
}

/** Letters, digits and enough variety that the text is unlikely to be a word or a name. */
export function looksRandom(value: string, minLength = 16): boolean {
  if (value.length < minLength || !/\d/.test(value) || !/[A-Za-z]/.test(value)) return false;
  // Changes between digit, upper and lower case: about 6 in 10 characters of a random token, few
  // in words, names and paths (symbols are skipped, so `a/b/c` does not count).
  const classes = value
    .replace(/[^A-Za-z0-9]/g, '')
    .replace(/[0-9]/g, '0')
    .replace(/[A-Z]/g, 'A')
    .replace(/[a-z]/g, 'a');
  let changes = 0;
  for (let i = 1; i < classes.length; i++) if (classes[i] !== classes[i - 1]) changes++;
  return changes >= value.length / 4;
}
