// A passphrase of several words, unquoted: `password: correct horse battery 42`, `Password = …`, `PASSPHRASE=tidy
// otter lamp river`, also mid-line (`my wifi password: …`). The named-value rule reads a bare value as one word;
// here the value runs to the line's end, a closing quote or a `#` comment. Code never reaches here: a word of it
// holds a dot, a bracket, an operator or a quote.
import { redactTail, type Rule } from './rule.ts';
import { isCodeOrPlaceholder } from './values.ts';

/** A word of a passphrase: none of code's punctuation, and no flag. */
const WORD = String.raw`(?!-)[^\s"'\x60(){}\[\];,=<>|&.:$#/\\]{1,64}`;
const STRONG = /(?:pass(?:word|wd|phrase)?|pwd|secret)$/i;
/** Commands that follow a shell assignment (`DB_PASSWORD=x npm start`): the value is the first word alone. */
const COMMANDS = new Set(
  'npm npx node yarn pnpm bun deno python python3 pip uv poetry pytest go cargo make docker kubectl bash sh zsh exec env sudo git curl java ruby rails bundle php dotnet terraform psql mysql'.split(
    ' ',
  ),
);

export const PASSPHRASE_LINE: Rule = {
  hint: /(?:pass(?:word|wd|phrase)?|pwd|secret)[ \t]*[:=][ \t]*\S+[ \t]+[^\s#]/i,
  re: new RegExp(
    String.raw`(?:(?:(?<![^\n])|(?<=\\n))[ \t]*(?:-[ \t]+)?|(?<![\w.-]))` +
      String.raw`(?:(?:export[ \t]+)?([A-Z][A-Z0-9_]{0,60})=|([A-Za-z][\w.-]{0,60})[ \t]*[:=])[ \t]*` +
      String.raw`(${WORD}(?:[ \t]+${WORD}){1,11})(?=[ \t]*(?:#[^\n\\]{0,200})?(?:\r?\n|\\[nr]|$|\\?["'\x60]))`,
    'g',
  ),
  to: (m: string, envName: string | undefined, yamlName: string | undefined, value: string) => {
    const name = (yamlName ?? envName!).toLowerCase();
    const words = value.split(/[ \t]+/);
    if (!STRONG.test(name) || (words.length < 3 && !/\d/.test(value))) return m;
    if (envName !== undefined && COMMANDS.has(words[1]!)) return m;
    if (isCodeOrPlaceholder(words[0]!, name, '', true) || isCodeOrPlaceholder(value, name, '', true)) return m;
    return redactTail(m, value);
  },
};
