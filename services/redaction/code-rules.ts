// Secrets that code passes as a call's arguments: a secret's name and its value as two string literals, a setter,
// a user and password pair, a Go DSN. Only literals are taken: a variable or a call there is a reference.
import { ESC, keepCode, type Rule, SECRET_WORD, START } from './rule.ts';

const QUOTE = String.raw`${ESC}["']`;
const LITERAL = String.raw`${QUOTE}([^"'\\\r\n]{1,256})(?=${QUOTE})`;
const CODE_NAME = String.raw`[\w.-]{0,60}(?:${SECRET_WORD}|pass|pwd|auth_?key|salt)[\w.-]{0,40}`;
const literal = (m: string, value: string) => keepCode(m, value, 'password', '', true);

/** `define('DB_PASSWORD', 'x')`, `props.put("mail.smtp.password", "x")`, `os.environ["API_KEY"] = "x"`. */
export const NAMED_LITERAL: Rule = {
  hint: /pass|pwd|secret|token|key|cred|salt/i,
  re: new RegExp(
    String.raw`(?:\(\s*${QUOTE}${CODE_NAME}${QUOTE}\s*,|\[\s*${QUOTE}${CODE_NAME}${QUOTE}\s*\]\s*=)\s*${LITERAL}`,
    'gi',
  ),
  to: literal,
};

/** `dataSource.setPassword("x")`, `client.setApiKey("x")`, `setClientSecret("x")`. */
export const SETTER: Rule = {
  hint: /\.set/,
  re: new RegExp(
    String.raw`\.set(?:[A-Z]\w{0,30})?(?:Password|Passwd|Secret|ApiKey|Token|AccessKey|SecretKey|Credentials?)\(\s*${LITERAL}`,
    'g',
  ),
  to: literal,
};

/** A user and password pair: `auth=('bob', 'x')`, `HTTPBasicAuth("bob", "x")`, `new NetworkCredential("bob", "x")`. */
export const CREDENTIAL_PAIR: Rule = {
  hint: /Credential|Auth|auth|login/,
  re: new RegExp(
    String.raw`(?:${START}(?:NetworkCredential|HTTPBasicAuth|HTTPDigestAuth|BasicAuth|PasswordAuthentication|UsernamePasswordCredentials)|${START}auth\s*=\s*|\.login)` +
      String.raw`\(\s*${QUOTE}[^"'\\\r\n]{0,128}${QUOTE}\s*,\s*${LITERAL}`,
    'g',
  ),
  to: literal,
};

/** A Go MySQL DSN, `user:password@tcp(host)/db`. */
export const GO_DSN: Rule = {
  hint: /@(?:tcp|unix)\(/,
  re: /[\w.-]{1,64}:([^\s:@"'\\/]{1,256})(?=@(?:tcp|unix)\()/g,
  to: literal,
};

export const CODE_RULES: Rule[] = [NAMED_LITERAL, SETTER, CREDENTIAL_PAIR, GO_DSN];
