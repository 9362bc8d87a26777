// Every redaction rule is linear on hostile input: a quadratic one would not finish within the test timeout.
import { describe, expect, it } from 'vitest';
import { redactSecrets } from '../services/redaction/redact.ts';

describe('hostile lines', () => {
  it.each([
    ['letters', 'a'.repeat(1_000_000)],
    ['base64url run', 'eyJa-'.repeat(200_000)],
    ['repeated key prefixes', 'sk-ant-'.repeat(150_000)],
    ['dotted words', 'ab1.'.repeat(250_000)],
    ['assignments', 'A_TOKEN = '.repeat(100_000)],
    ['URL starts', 'https://a:'.repeat(100_000)],
    ['PEM headers without end', '-----BEGIN PRIVATE KEY-----'.repeat(40_000)],
    ['flags', '--token x1'.repeat(100_000)],
    ['base64 runs', `${'Ab3/'.repeat(10)}-`.repeat(25_000)],
    ['Kubernetes data', `kind: Secret\ndata:${'\n  k: v'.repeat(150_000)}`],
    ['echoes into sudo', 'echo x | sudo '.repeat(70_000)],
    ['echoes of a long word', `echo ${'a'.repeat(1_000_000)} | sudo -S`],
    ['SQL passwords', "user u password '".repeat(60_000)],
    ['Oracle logons', 'sqlplus a/'.repeat(100_000)],
    ['htpasswd batches', 'htpasswd -b a '.repeat(70_000)],
    ['name fields', 'name: db_password '.repeat(55_000)],
    ['secret-named entries', '"db_password": {'.repeat(60_000)],
    ['XML elements left open', '<password>x'.repeat(90_000)],
    ['netrc words', 'machine a login b '.repeat(55_000)],
    ['pgpass-like fields', `\n${'a:1:b:c:'.repeat(120_000)}`],
    ['cookie pairs', `Cookie: ${'a=b; '.repeat(200_000)}`],
    ['prose passwords', 'password is '.repeat(80_000)],
    ['named literals', "('password', ".repeat(80_000)],
    ['setters', '.setPassword('.repeat(70_000)],
    ['URL users', `https://${'a'.repeat(1_000_000)}`],
    ['a base64 key prefix', `LS0tLS1CRUdJTi${'A'.repeat(1_000_000)}`],
    ['markdown labels', '**Password**: **'.repeat(60_000)],
    ['a value of ampersands', `password=${'a&'.repeat(500_000)}`],
    ['query parameters', '&api_key=a'.repeat(90_000)],
    ['passphrase lines', `\npassword: ${'ab '.repeat(330_000)}`],
    ['short passphrase lines', 'password: a b\n'.repeat(70_000)],
    ['backslashes in a quoted value', `password: "${'\\'.repeat(1_000_000)}`],
    ['apostrophes in a quoted value', `password: "${"a'".repeat(500_000)}`],
    ['open quoted values', 'password: "a'.repeat(80_000)],
  ])('a 1 MB line of %s is redacted', (_name, line) => {
    expect(redactSecrets(line).length).toBeGreaterThan(0);
  });
});
