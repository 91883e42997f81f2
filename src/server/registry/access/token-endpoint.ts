import type { IncomingMessage, ServerResponse } from 'node:http';
import { RegistryHttpError, sendJson } from '../http-errors.js';
import { isRepositoryName } from '../names.js';
import type { Gatekeeper } from './gatekeeper.js';
import type { Action } from './rules.js';
import type { TokenAccess, TokenIssuer } from './tokens.js';

const ACTIONS = new Set<string>(['pull', 'push', 'delete']);

/** The scopes a token request asks for: `repository:NAME:ACTIONS` and `registry:catalog:*`. */
function parseScopes(values: string[]): Array<{ type: string; name: string; actions: string[] }> {
  const out = [];
  for (const value of values.flatMap((v) => v.split(' ')).filter(Boolean)) {
    const first = value.indexOf(':');
    const last = value.lastIndexOf(':');
    if (first < 0 || last === first) continue;
    out.push({
      type: value.slice(0, first),
      name: value.slice(first + 1, last),
      actions: value.slice(last + 1).split(','),
    });
  }
  return out;
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let text = '';
  for await (const chunk of req) {
    text += (chunk as Buffer).toString('utf8');
    if (text.length > 64 * 1024) throw new RegistryHttpError(413, 'SIZE_INVALID', 'form too large');
  }
  return new URLSearchParams(text);
}

/**
 * The built-in token endpoint of the Docker token protocol: `GET /token?service=&scope=`
 * with HTTP Basic credentials (or none, for anonymous access), and the OAuth2 password
 * grant (`POST /token`, form `grant_type=password&username=&password=&scope=`). Each
 * requested repository scope is granted the actions the access rules allow that user;
 * a wrong password is a 401, never a token with less.
 */
export async function handleTokenRequest(
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
  gate: Gatekeeper,
  issuer: TokenIssuer,
): Promise<void> {
  let user: string | undefined;
  let params = query;
  if (req.method === 'POST') {
    params = await readForm(req);
    if (params.get('grant_type') === 'password') {
      const encoded = Buffer.from(
        `${params.get('username') ?? ''}:${params.get('password') ?? ''}`,
      ).toString('base64');
      user = await gate.checkBasic(encoded);
      if (user === undefined)
        throw new RegistryHttpError(401, 'UNAUTHORIZED', 'invalid username or password');
    }
  } else {
    const header = req.headers.authorization;
    if (header?.toLowerCase().startsWith('basic ')) {
      user = await gate.checkBasic(header.slice(6).trim());
      if (user === undefined) {
        throw new RegistryHttpError(401, 'UNAUTHORIZED', 'invalid username or password', {
          'WWW-Authenticate': 'Basic realm="ocipeek token"',
        });
      }
    }
  }
  const service = params.get('service');
  if (service && service !== issuer.service) {
    throw new RegistryHttpError(
      400,
      'UNSUPPORTED',
      `this token endpoint serves ${issuer.service}, not ${service}`,
    );
  }
  const access: TokenAccess[] = [];
  for (const scope of parseScopes(params.getAll('scope'))) {
    if (scope.type === 'repository' && isRepositoryName(scope.name)) {
      const wanted = scope.actions.flatMap((a) => (a === '*' ? ['pull', 'push', 'delete'] : [a]));
      const granted = gate.rules.granted(
        { user },
        scope.name,
        wanted.filter((a) => ACTIONS.has(a)) as Action[],
      );
      access.push({ type: 'repository', name: scope.name, actions: granted });
    } else if (scope.type === 'registry' && scope.name === 'catalog' && user !== undefined) {
      access.push({ type: 'registry', name: 'catalog', actions: ['*'] });
    }
  }
  const token = await issuer.sign(user ?? '', access);
  const body = {
    token,
    access_token: token,
    expires_in: issuer.expiresIn,
    issued_at: new Date().toISOString(),
  };
  sendJson(res, 200, body, { 'Cache-Control': 'no-store' });
}
