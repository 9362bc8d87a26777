// Credentials found in rollouts or model output are replaced by [REDACTED_SECRET] before anything
// is sent or stored, while ordinary text stays as it was.
import { describe, expect, it } from 'vitest';
import { redactSecrets } from '../services/redaction/redact.ts';

const R = '[REDACTED_SECRET]';

describe('the reference vectors of spec §2.8', () => {
  it.each([
    ['key sk-abcdefghijklmnopqrst end', `key ${R} end`],
    ['id AKIA0123456789ABCDEF end', `id ${R} end`],
    ['bEaReR abcdefghijklmnop', `Bearer ${R}`],
    ['api_key=abcdefgh', `api_key=${R}`],
    ['password: "abcdefgh"', `password: "${R}"`],
    ["token='abcdefgh'", `token='${R}'`],
    ['secret=abcdefgh', `secret=${R}`],
    ['secret Bearer short password=short sk-short', 'secret Bearer short password=short sk-short'],
    ['', ''],
  ])('%j → %j', (input, expected) => {
    expect(redactSecrets(input)).toBe(expected);
  });
});

// Each secret below must vanish completely; the text around it must survive.
const SECRETS: Array<[string, string, string]> = [
  ['OpenAI project key', 'sk-proj-AbC_dEf-0123456789abcdefghijKLMNOPqrst', 'export OPENAI_KEY_X {s} now'],
  ['OpenAI service-account key', 'sk-svcacct-Zx9_Yw8-Vu7Ts6Rq5Po4Nm3Lk2Ji1', 'key {s} here'],
  ['Anthropic key', 'sk-ant-api03-abc_DEF-ghi_jklmnopqrstuvwxyz0123456789-AAAA', 'use {s} for claude'],
  ['legacy OpenAI key', `sk-${'A1b2C3d4'.repeat(6)}`, 'key: {s}'],
  ['GitHub classic token', 'ghp_0123456789abcdefghijklmnopqrstuvwxyzAB', 'git clone https://{s}@github.com/o/r'],
  ['GitHub OAuth token', 'gho_16C7e42F292c6912E7710c838347Ae178B4a', 'oauth {s}'],
  ['GitHub user-to-server token', 'ghu_16C7e42F292c6912E7710c838347Ae178B4a', 'got {s}'],
  ['GitHub server token', 'ghs_16C7e42F292c6912E7710c838347Ae178B4a', 'got {s}'],
  ['GitHub refresh token', 'ghr_1B4a2e77838347a7E420ce178F2E7c6912E169246c', 'got {s}'],
  ['GitHub fine-grained token', 'github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV', 'GH={s}'],
  ['GitLab token', 'glpat-xXxXxXxXxXxXxXxXxXxX', 'token {s}'],
  ['Slack bot token', 'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx', 'slack {s}'],
  ['Slack user token', 'xoxp-123456789012-123456789012-123456789012-abcdef0123456789abcdef0123456789', 'slack {s}'],
  [
    'Slack webhook',
    'https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX',
    'curl -X POST {s} -d @msg.json',
  ],
  ['Google API key', 'AIzaSyA-1234567890abcdefghijklmnopqrstu', 'maps key={s}&q=x'],
  ['Stripe live secret key', 'sk_live_51HxYzAbCdEfGhIjKlMnOpQr', 'stripe {s}'],
  ['Stripe restricted key', 'rk_live_51HxYzAbCdEfGhIjKlMnOpQr', 'stripe {s}'],
  ['Stripe test key', 'sk_test_4eC39HqLyjWDarjtT1zdp7dc', 'stripe {s}'],
  ['AWS access key id', 'AKIAIOSFODNN7EXAMPLE', 'aws_access_key_id = {s}'],
  ['AWS secret access key', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'aws_secret_access_key = {s}'],
  ['AWS secret in env style', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'AWS_SECRET_ACCESS_KEY={s}'],
  [
    'JWT',
    'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
    'cookie session={s}; path=/',
  ],
  ['Bearer header', 'abcDEF123456ghiJKL789', 'curl -H "Authorization: Bearer {s}" https://api.example.com'],
  ['basic auth header', 'dXNlcjpodW50ZXIyMnNlY3JldA==', 'Authorization: Basic {s}'],
  ['password in a URL', 'Sup3rS3cret!', 'DATABASE_URL=postgres://app:{s}@db.internal:5432/app'],
  ['env token', 'abc123def456', 'export FOO_TOKEN={s}'],
  ['env password', 'hunter2hunter2', 'DB_PASSWORD="{s}"'],
  ['JSON client secret', 'Zq8-r7Tq_9xYv', '{"client_secret": "{s}"}'],
  ['camelCase token in code', 'a8f5f167f44f4964e6c998dee827110c', "const accessToken = '{s}';"],
  ['HTTP API key header', 'abcd1234efgh5678', 'X-Api-Key: {s}'],
  ['npm token', `npm_${'a1B2c3D4e5'.repeat(4)}`, '//registry.npmjs.org/:_authToken={s}'],
  ['Hugging Face token', `hf_${'AbCdEfGhIj'.repeat(4)}`, 'HF={s}'],
  // Contexts without any other secret word, so that each shape's own literal must let it through
  // the quick pre-check in redact.ts.
  ['GitLab token with no keyword near', 'glpat-xXxXxXxXxXxXxXxXxXxX', 'pushed with {s}'],
  ['npm token with no keyword near', `npm_${'a1B2c3D4e5'.repeat(4)}`, 'echo {s}'],
  ['AWS temporary access key id', 'ASIAIOSFODNN7EXAMPLE', 'id {s} in use'],
  ['Google OAuth access token', 'ya29.a0AfH6SMBx1234567890abcdefghij', 'gcloud printed {s}'],
  ['SendGrid key', 'SG.abcdefghijklmnop.ABCDEFGHIJKLMNOPqrstuvwx', 'mail via {s}'],
  ['env password, short name', 'x1y2z3w4v5', 'DB_PWD={s}'],
  ['env access key', 'AbCdEf123456', 'MY_ACCESS_KEY={s}'],
  // Shell goes on after the value: `&&`, `||` and `|` there are not an expression using a variable.
  ['mysql -p with a command after it', 'Qu4rtzLynx88Vault', 'restore with mysql -uroot -p{s} && ls, then check'],
  ['mysql -p piped on', 'Qu4rtzLynx88Vault', 'mysqldump -u admin -p{s} shop | gzip > shop.sql.gz'],
  ['--password with a command after it', 'S3cr3tV4lue77', 'deploy --password {s} || exit 1'],
  ['HTTPie --auth', 'Gr4niteFox19Moss', 'then check http --auth bob:{s} get api.internal'],
  ['HTTPie -a', 'Gr4niteFox19Moss', 'https -a bob:{s} POST api.internal/items'],
  // Passwords that tools take in flags or positions of their own, or read from a pipe.
  ['echo piped to sudo -S', 'Pl4tinumOwl27Key', "echo '{s}' | sudo -S apt-get update"],
  ['echo piped to docker login --password-stdin', 'D0ckHub9Pass44x', 'echo {s} | docker login -u bob --password-stdin ghcr.io'],
  ['echo piped to chpasswd', 'Ch4ngeMe2Rx9', "echo 'deploy:{s}' | sudo chpasswd"],
  ['printf piped to passwd --stdin', 'Pr1ntfPw55Zq', 'printf "%s" {s} | passwd --stdin deploy'],
  ['ldapsearch -w', 'Ld4pBind77Pw', 'ldapsearch -x -D cn=admin,dc=ex,dc=org -w {s} -b dc=ex,dc=org'],
  ['keytool -storepass', 'K3yst0re55Pw', 'keytool -list -keystore app.jks -storepass {s}'],
  ['keytool -keypass', 'K3yPa55Word81', 'keytool -genkey -alias app -keypass {s} -keystore a.jks'],
  ['sqlplus user/password@db', 'Or4cleTiger61', 'sqlplus scott/{s}@orcl @script.sql'],
  ['SQL IDENTIFIED BY', 'Sq1UserPw99x', "ALTER USER app IDENTIFIED BY '{s}';"],
  ['SQL WITH PASSWORD', 'Pg5RolePw23y', "CREATE ROLE app WITH LOGIN PASSWORD '{s}';"],
  ['zip -P', 'Z1pArch1vePw', 'zip -P {s} -r backup.zip data/'],
  ['7z -p', 'S3venZip44Pw', '7z a -p{s} backup.7z data/'],
  ['lftp -u user,password', 'Ftp4ccess88Q', 'lftp -u deploy,{s} sftp://files.example.com'],
  ['az login -p', 'Az5pnSecret72', 'az login --service-principal -u http://app -p {s} --tenant t1'],
  ['htpasswd -b', 'Ht4ccess19Pw', 'htpasswd -bc /etc/nginx/.htpasswd admin {s}'],
  ['rabbitmqctl add_user', 'R4bbitMq33Pw', 'rabbitmqctl add_user app {s}'],
  ['ssh-keygen -N', 'SshK3yPhrase5', "ssh-keygen -t ed25519 -N '{s}' -f id_app"],
  ['openssl enc -k', '0pensslK3y44', 'openssl enc -aes-256-cbc -k {s} -in a -out a.enc'],
  ['net use, password after the share', 'W1nShare66Pw', 'net use Z: \\\\srv\\share {s} /user:CORP\\bob'],
  ['net use, password after /user:', 'W1nShare66Pw', 'net use \\\\srv\\share /user:bob {s}'],
  ['gh secret set --body', 'Gh5ecretBody81', 'gh secret set DEPLOY_KEY --body {s}'],
  // A diff or patch: the next line's `+`/`-` is not an operator after the value.
  ['a .env line in a diff, not the last', 'D1ffLeakPw42', '+DB_PASSWORD={s}\n+REDIS_URL=redis://cache:6379'],
  ['an apply_patch line, not the last', 'OldPatchPw11', '-DB_PASSWORD={s}\n+DB_HOST=db'],
  // Shell after an env-style assignment: `&&`, `||`, `|`, a command.
  ['env assignment, then &&', 'Amp3rsandPw88', 'export DB_PASSWORD={s} && npm start'],
  ['env assignment, then ||', 'Hunt3rTw0Zq', 'DB_PASSWORD={s} || true'],
  ['env assignment, then a pipe', 'Hunt3rTw0Zq', 'DB_PASSWORD={s} | grep x'],
  ['env assignment before a command', 'Xb7Lm2pQ9sRyKCAZt4Vv', 'API_TOKEN={s} ./deploy.sh'],
  // A .env or shell value is a literal, whatever it looks like; so is a quoted string under a secret's name.
  ['env password shaped like a name', 'BlueSky42', 'DB_PASSWORD={s}'],
  ['env token of letters only', 'xKqBvTmPaWzYrLnHjDfGcVbN', 'API_TOKEN={s}'],
  ['env passphrase of words', 'CorrectHorseBatteryStaple', 'DB_PASSWORD={s}'],
  ['quoted JSON password shaped like a name', 'SunnyDay99', '{"password": "{s}"}'],
  ['quoted YAML password', 'HelloWorld1', 'password: "{s}"'],
  ['quoted code password with an underscore', 'Dragon_99', 'password = "{s}"'],
  // Markdown an assistant writes when it reports credentials.
  ['markdown bold label, then code', 'B0ldMdPw91', '- **Password**: `{s}`'],
  ['markdown bold label with its colon', 'B0ldMdPw92', '**Password:** `{s}`'],
  ['markdown bold API key', 'Xb7Lm2pQ9sRyKCAZt4Vv', '**API key:** {s}'],
  // JSON inside JSON inside a shell command: the quotes carry three backslashes.
  [
    'JSON escaped twice',
    'N3st3dPw77x',
    'curl -d "{\\\\\\"user\\\\\\":\\\\\\"bob\\\\\\",\\\\\\"password\\\\\\":\\\\\\"{s}\\\\\\"}"',
  ],
  // A secret's name as the value of a name field, its value beside it.
  ['Kubernetes env entry', 'K8sEnvPw7qx', '    env:\n    - name: DB_PASSWORD\n      value: {s}'],
  ['ECS task definition entry', 'Ec5EnvPw7qz', '{ "name": "DB_PASSWORD", "value": "{s}" }'],
  ['Azure app setting', 'AzApp5etPw1', '{"name": "DB_PASSWORD", "slotSetting": false, "value": "{s}"}'],
  ['SSM parameter', 'Ssm9Pw77xQzL', '"Name": "/prod/db/password", "Type": "SecureString", "Value": "{s}"'],
  ['terraform output', 'Tf0utPw88xQ', '"db_password": {"sensitive": true, "type": "string", "value": "{s}"}'],
  ['.NET appSettings entry', 'Adm1nPwZx9', '<add key="DbPassword" value="{s}" />'],
  // XML elements.
  ['Maven settings password', 'Mvn5ettPw77', '<server><id>x</id><password>{s}</password></server>'],
  ['XML client secret', 'Cl1entS3cretZx', '<clientSecret>{s}</clientSecret>'],
  // Credential files and key material.
  ['.netrc line', 'N3trcPw44z', 'machine api.heroku.com login bob@example.com password {s}'],
  ['.netrc block', 'N3trcPw44z', 'machine x\n  login bob\n  password {s}'],
  ['.pgpass line', 'Pgp4ssPw61', 'db.internal:5432:app:app:{s}'],
  [
    'kubeconfig client key data (a base64 PEM key)',
    Buffer.from('-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx9Lm2pQ9sRyKCAZt4Vv8Lq2\n').toString('base64'),
    'users:\n- name: admin\n  user:\n    client-key-data: {s}',
  ],
  // Cookies.
  ['Set-Cookie session', 'c00k1e5e55i0nZq8Lm2Vb7Nc3', 'Set-Cookie: sessionid={s}; Path=/; HttpOnly'],
  ['Cookie header', '8f3c2a1b9e7d6f5a4b3c2d1e0f9a8b7c', 'Cookie: theme=dark; sessionid={s}'],
  ['curl -b cookie', 'Xb7Lm2pQ9sRyKCAZt4Vv8Lq2', 'curl -b "session={s}" https://app.internal/api'],
  // Prose, and other languages.
  ['prose', 'Hunt3rProse71', 'The staging password is {s}, please rotate it.'],
  ['Chinese, full-width colon', 'Mima8Cn66Zq', '数据库密码：{s}'],
  ['German', 'Gehe1mPw99', 'Das Passwort: {s}'],
  ['French', 'Secr3tFr77', 'mot de passe : {s}'],
  ['Spanish', 'Contr4Es88', 'contraseña: {s}'],
  ['Russian', 'Parol9Ru55', 'пароль: {s}'],
  ['Japanese', 'Pasu7Jp44', 'パスワード: {s}'],
  ['English name, full-width colon', 'Hunt3rTw0Zq', 'password：{s}'],
  // Names the rules did not read as a secret's.
  ['_PW name', 'Adm1nPwZx7', 'ADMIN_PW={s}'],
  ['pw key', 'Js0nPw7xQ', '{"pw": "{s}"}'],
  ['camelCase pass', 'J5DbPass7q', '{ "dbPass": "{s}" }'],
  ['PGPASS', 'Pgp4ssPw61', 'PGPASS={s}'],
  ['Rails secret_key_base', 'a9f3c2e1b7d6f5a4b3c2d1e0f9a8b7c6d5e4f3a2', 'SECRET_KEY_BASE={s}'],
  ['wpa_supplicant psk', 'W1f1Psk77xQ', 'network={ ssid="home" psk="{s}" }'],
  // Code that passes a secret as a call's argument.
  ['Go DSN', 'G0SqlPw66', 'sql.Open("mysql", "app:{s}@tcp(db.internal:3306)/app")'],
  ['a setter', 'J4vaSetPw88', 'dataSource.setPassword("{s}");'],
  ['a property put', 'J4vaPr0pPw', 'props.put("mail.smtp.password", "{s}");'],
  ['WordPress define', 'W0rdpr3ssPw', "define( 'DB_PASSWORD', '{s}' );"],
  ['os.environ item', 'Xb7Lm2pQ9sRyKCAZ', 'os.environ["OPENAI_API_KEY"] = "{s}"'],
  ['environ setdefault', 'Xb7Lm2pQ9sRyKCAZ', 'os.environ.setdefault("API_TOKEN", "{s}")'],
  ['basic auth pair', 'Req4uthPw77', "requests.get(url, auth=('bob', '{s}'))"],
  ['NetworkCredential', 'CsNetCr3d99', 'new NetworkCredential("bob", "{s}")'],
  // A token as a URL's user.
  ['token as a git remote user', '3f2a9c8b7e6d5f4a3b2c1d0e9f8a7b6c5d4e3f2a', 'origin https://{s}@github.com/acme/app.git'],
  ['Sentry DSN key', '3f2a9c8b7e6d5f4a3b2c1d0e9f8a7b6c', 'SENTRY=https://{s}@o123456.ingest.sentry.io/456'],
  // One parameter's value ends at the next `&name=`, and `scheme://` is no assignment: neither hides a secret.
  ['a token after another query parameter', 'Xb7Lm2pQ9sRyKCAZt4Vv', 'GET /api/items?sort_key=name&access_token={s}&page=2'],
  ['otpauth URI', 'JBSWY3DPEHPK3PXPJBSWY3DP', 'otpauth://totp/ACME:bob?secret={s}&issuer=ACME'],
  // A name and its value in the columns of a table: vault kv get, PowerShell's env listing, markdown.
  [
    'vault kv get row',
    'Vk9Pw77xQz',
    '====== Data ======\nKey         Value\n---         -----\npassword    {s}\nusername    app',
  ],
  [
    'PowerShell env row',
    'PsEnvT4ble9',
    'Name                           Value\nDB_PASSWORD                    {s}\nPATH   /usr/bin',
  ],
  ['markdown table row', 'Hunt3rTw0Zq', '| name | value |\n|---|---|\n| DB_PASSWORD | {s} |'],
  // A passphrase of several words after a capitalised name, ` = `, mid-line, or inside quotes.
  ['passphrase after a capitalised name', 'correct horse battery 42', 'db:\n  Password: {s}\n  port: 5432'],
  ['passphrase mid-line', 'correct horse battery 42', 'my wifi password: {s}'],
  ['passphrase after =', 'correct horse battery 42', 'password = {s}'],
  ['passphrase inside an echo', 'correct horse battery 42', "echo 'password: {s}' >> config.yml"],
  ['env auth key', 'Zz9Yy8Xx7Ww6', 'SERVICE_AUTH_KEY={s}'],
  ['env credentials', 'c0ffee-b4be-1234', 'GCP_CREDENTIALS={s}'],
  // A token a command printed alone on the next line, recognised by that command.
  ['heroku auth:token output', '3f2a9c8b-7e6d-4f5a-8b2c-1d0e9f8a7b6c', '$ heroku auth:token\n{s}\n$ ls'],
  ['heroku auth:token output, JSON-escaped', '3f2a9c8b-7e6d-4f5a-8b2c-1d0e9f8a7b6c', 'heroku auth:token\\n\\n{s}\\n'],
  [
    'aws ecr get-login-password output',
    'eyJwYXlsb2FkIjoiQ2dSNnZaWmlZQmRJb1V2TlpSb1Z6Q3lBMjhOa2h3c0hWdW5OaXdNb2F0ZXhYbzkzWlBQbTJ3K0J0WnQ5RjJ3',
    '$ aws ecr get-login-password --region us-east-1\n{s}',
  ],
  ['gh auth token output', 'gho_16C7e42F292c6912E7710c838347Ae178B4a', '$ gh auth token\n{s}'],
  ['Mailchimp API key', '3f2a9c8b7e6d5f4a3b2c1d0e9f8a7b6c-us21', 'subscribed the list with {s} today'],
  // Shells and tools that set a secret without `=`.
  ['fish set -x', 'Fi5hTok3nZq88', 'set -x GITHUB_TOKEN {s}'],
  ['fish set -gx', 'Fi5hTok3nZq88', 'set -gx OPENAI_API_KEY {s}; and run'],
  ['Windows setx', 'S3txKeyQz71', 'setx OPENAI_API_KEY "{s}"'],
  ['PowerShell ConvertTo-SecureString', 'Ps5ecureStr77', '$pw = ConvertTo-SecureString "{s}" -AsPlainText -Force'],
  ['nmcli wifi password', 'W1f1Nmc1iPw', 'nmcli dev wifi connect HomeNet password {s}'],
  ['npm config set _authToken', 'Np5mAuthTok3n99xQ', 'npm config set //registry.npmjs.org/:_authToken {s}'],
  ['redis-cli AUTH', 'R3disAuthPw55', '127.0.0.1:6379> AUTH {s}\nOK'],
  ['redis-cli AUTH user', 'R3disAuthPw55', '127.0.0.1:6379> AUTH app {s}\nOK'],
  ['SMTP AUTH PLAIN', Buffer.from('\0bob@example.com\0Sm7pPw99x').toString('base64'), 'C: AUTH PLAIN {s}\nS: 235 2.7.0 ok'],
  [
    'SMTP AUTH LOGIN password',
    Buffer.from('Sm7pPw99xQ').toString('base64'),
    'AUTH LOGIN\n334 VXNlcm5hbWU6\nYm9i\n334 UGFzc3dvcmQ6\n{s}\n235 ok',
  ],
  // A URL's query under less common names.
  [
    'OpenWeather appid',
    '3f2a9c8b7e6d5f4a3b2c1d0e9f8a7b6c',
    'curl "https://api.openweathermap.org/data/2.5/weather?q=London&appid={s}"',
  ],
  [
    'Azure Functions code',
    'aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5bC7dE9fG1hJ3kL5mN==',
    'https://app.azurewebsites.net/api/Hook?code={s}&name=x',
  ],
  [
    'Logic Apps sig, base64url',
    'Xb7Lm2pQ9sRy-KCAZt4Vv8Lq2_Nc3Wd5Fe6Gh7Jk8Mn',
    'https://prod-12.westus.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sv=1.0&sig={s}',
  ],
  ['apikey query', 'Xb7Lm2pQ9sRyKCAZt4Vv', 'GET https://api.example.com/v1/x?apikey={s}&q=1'],
  ['api-key query', 'Xb7Lm2pQ9sRyKCAZt4Vv', 'GET https://api.example.com/v1/x?api-key={s}&q=1'],
  ['access_key query', 'Xb7Lm2pQ9sRyKCAZt4Vv', 'http://api.ipstack.com/check?access_key={s}'],
  [
    'client_secret query',
    'Xb7Lm2pQ9sRyKCAZt4Vv',
    'POST /oauth/token?client_id=app&client_secret={s}&grant_type=client_credentials',
  ],
  [
    'S3 presigned X-Amz-Signature',
    'a9f3c2e1b7d6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0',
    'https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=3600&X-Amz-Signature={s}',
  ],
  [
    'CloudFront Signature',
    'Xb7Lm2pQ9sRyKCAZt4Vv8Lq2Nc3Wd5Fe6',
    'https://d1.cloudfront.net/v.mp4?Expires=1700000000&Signature={s}&Key-Pair-Id=K2',
  ],
  // Webhook URLs whose path is the secret.
  [
    'Microsoft Teams webhook',
    'https://contoso.webhook.office.com/webhookb2/3f2a9c8b-7e6d-4f5a-8b2c-1d0e9f8a7b6c@72f988bf-86f1-41af-91ab-2d7cd011db47/IncomingWebhook/8f3c2a1b9e7d6f5a4b3c2d1e0f9a8b7c/5d4e3f2a-1b0c-4d9e-8f7a-6b5c4d3e2f1a',
    'curl -H "Content-Type: application/json" -d @card.json {s}',
  ],
  ['Zapier catch hook', 'https://hooks.zapier.com/hooks/catch/1234567/b3xq9zk/', 'curl -X POST {s} -d x=1'],
  [
    'Discord webhook',
    'https://discord.com/api/webhooks/123456789012345678/Xb7Lm2pQ9sRyKCAZt4Vv8Lq2Nc3Wd5Fe6Gh7Jk8Mn-Pq9Rs0Tu1Vw2Xy3Za4Bc5De6Fg7Hi8',
    'post to {s}',
  ],
  ['a WEBHOOK_URL with a random path', 'Xb7Lm2pQ9sRyKCAZt4Vv8Lq2', 'WEBHOOK_URL=https://hooks.example.com/webhooks/incoming/{s}'],
  // Quoted values that hold the other quote, or an escaped one.
  ['double-quoted password with an apostrophe', "it'sS3cret99", 'password: "{s}"'],
  ['JSON password with an escaped quote', 'Pw\\"9zQx77', '{"password": "{s}"}'],
  ['single-quoted password with a double quote', 'Sq"Pw55zz9', "password = '{s}'"],
  // Passwords that start with the symbol of a reference.
  ['env password starting with $', '$ecretPw9x', 'DB_PASSWORD={s}'],
  ['quoted password starting with #', '#Sup3rPw99', "password: '{s}'"],
  ['env password starting with @', '@dm1nPw99x', 'ADMIN_PASSWORD={s}'],
  ['quoted password starting with %', '%Tr0ngPw55', 'password = "{s}"'],
  // Unquoted passphrases of several words on a YAML or .env line.
  ['YAML passphrase of several words', 'correct horse battery 42', 'db:\n  password: {s}\n  host: db'],
  ['.env passphrase of several words', 'tidy otter lamp river', 'PASSPHRASE={s}\nPORT=3000'],
];

describe('more secret shapes', () => {
  it.each(SECRETS)('%s is removed', (_name, secret, context) => {
    const text = context.replace('{s}', secret);
    const out = redactSecrets(text);
    expect(out).toContain(R);
    expect(out).not.toContain(secret);
    // No recognisable tail of the secret is left either.
    expect(out).not.toContain(secret.slice(-8));
  });

  it('a PEM private key block is removed whole, and the text after it kept', () => {
    const key = [
      '-----BEGIN OPENSSH PRIVATE KEY-----',
      'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW',
      'QyNTUxOQAAACBxyz0123456789',
      '-----END OPENSSH PRIVATE KEY-----',
    ].join('\n');
    const out = redactSecrets(`before\n${key}\nafter`);
    expect(out).toBe(`before\n${R}\nafter`);
    const cut = redactSecrets(`x -----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0123\nabc`);
    expect(cut).toBe(`x ${R}`);
  });

  it('keeps the connect string of an Oracle logon', () => {
    expect(redactSecrets('sqlplus -s app/Or4cleTiger61@//db.internal:1521/ORCL @run.sql')).toBe(
      `sqlplus -s app/${R}@//db.internal:1521/ORCL @run.sql`,
    );
  });

  it('keeps the user and host of a URL with a password', () => {
    expect(redactSecrets('mongodb+srv://admin:p4ssw0rd@cluster0.example.net/db')).toBe(
      `mongodb+srv://admin:${R}@cluster0.example.net/db`,
    );
  });
});

describe('ordinary text is left alone', () => {
  it.each([
    'The token limit is 150000 tokens; max_tokens: 4096',
    'see https://example.com/path?q=1 and mail user@example.com',
    'git@github.com:openai/codex.git',
    'http://localhost:3000/api/v1/users',
    'const apiToken = getToken(); let password = ask();',
    'litellmApiKey: string | undefined;',
    'FOO_TOKEN=$FOO_TOKEN and GH_TOKEN=%GH_TOKEN%',
    'commit 0f022a043b3f8ca67224e1c56d5b85e28a81b910',
    'uuid 019a93b9-f380-7600-98ff-940e6b99603c',
    'the secret ingredient is love; my password is short',
    'sk-short, ghp_short, AKIA123, xoxb-1',
    'ssoCredentials = context.credentials as SSOCredentials;',
    'total_token: 12345, retry_token: true',
    '日本語 emoji 👍🏽 text',
    'mysql -u root -p$MYSQL_PWD && ./migrate',
    'http --auth bob:$BOB_PASSWORD get api.internal',
    'echo $SUDO_PW | sudo -S true; echo "$CR_PAT" | docker login ghcr.io -u bob --password-stdin',
    'sqlplus / as sysdba; sqlplus -s /nolog; sqlplus app/$APP_PW@orcl',
    'ssh-keygen -t ed25519 -N "" -f id_app; zip -r backup.zip data/; 7z x -y backup.7z',
    'keytool -list -keystore app.jks -storepass:env STOREPASS',
    'net use Z: \\\\srv\\share /persistent:yes; net use Z: \\\\srv\\share * /user:bob',
    'gh secret set DEPLOY_KEY --body "$DEPLOY_KEY"; rabbitmqctl list_users',
    'htpasswd -c /etc/nginx/.htpasswd admin',
    'passwd: files systemd\nshadow: files\ngroup: files systemd',
    // Code: a secret's name, but a reference, a call or an expression as its value.
    'const token = cached && fresh; const password = input || fallback;',
    'apiKey = config.apiKey ?? defaults.apiKey',
    'TOKEN=$(cat token.txt) && SECRET_KEY=settings.SECRET_KEY',
    'API_TOKEN=getToken() node app.js',
    '<password>${env.DB_PASSWORD}</password> <apiKey>{{ .Values.apiKey }}</apiKey>',
    '{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}',
    'The password is required. Reset your password: see the docs.',
    'Set-Cookie: theme=dark; Path=/; Max-Age=3600; SameSite=Lax',
    'git remote add origin https://github.com/acme/app.git; https://user@example.com/path',
    'server.login(user, password); auth=(username, password)',
    'machine github.com login bob password $GH_PASSWORD',
    '| option | type | required |\n| password | string | yes |\n| api_key | required |\n| token | The API token |',
    // References, whatever symbol opens them; a password that merely starts with one is redacted (see above).
    'DB_PASSWORD=$DB_PASSWORD; password = "$dbPassword"; token: "${{ secrets.TOKEN }}"; PW=$1',
    'password: @password; secret = "%APPDATA%"; api_key: "<your-api-key>"; token = "#{ENV[\'TOKEN\']}"',
    "password: '{password}'; ADMIN_PASSWORD=@admin_pw; curl -d @payload.json; SECRET=%(secret)s",
    // Commands that print a token, when the token is not shown on the next line.
    'export TOKEN=$(heroku auth:token)\nnpm publish',
    'aws ecr get-login-password --region us-east-1 | docker login --username AWS --password-stdin 1.dkr.ecr.aws\nLogin Succeeded',
    'kubectl get secrets\nNAME   TYPE   DATA   AGE\nRun `heroku auth:token`\nThen deploy',
    'set -x PATH $PATH; set -gx GITHUB_TOKEN (gh auth token); setx OPENAI_API_KEY "%OPENAI_API_KEY%"',
    '$pw = ConvertTo-SecureString $env:DB_PASSWORD -AsPlainText -Force',
    'nmcli dev wifi connect HomeNet password $WIFI_PW; npm config set //registry.npmjs.org/:_authToken ${NPM_TOKEN}',
    '127.0.0.1:6379> AUTH $REDIS_PASSWORD\n250-AUTH PLAIN LOGIN\nAUTH PLAIN mechanism',
    // Query parameters and webhook URLs without a secret in them.
    'https://httpbin.org/status?code=200&sig=abc&signature=required&appid=wx1234; weather?q=London&appid={API_KEY}',
    'WEBHOOK_URL=https://example.com/webhooks/github; webhookUrl: "https://hooks.example.com/webhooks/${WEBHOOK_ID}"',
    // Code and prose after a password's name on its own line.
    'password: input.password || fallback\npassword: not set here\nDB_PASSWORD=$DB_PASSWORD npm run migrate',
    'password: await bcrypt.hash(input.password, 10),\nsecret: "Don\'t commit it"',
  ])('%j', (text) => {
    expect(redactSecrets(text)).toBe(text);
  });
});
