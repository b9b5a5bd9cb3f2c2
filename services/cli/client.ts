import { userInfo } from 'node:os';

/** A small HTTP client for the CLI commands that talk to a running ledger. */
export interface ClientReply {
  readonly status: number;
  readonly body: unknown;
}

let authorization: Record<string, string> = {};

/**
 * The local user running the command, sent as `x-ledger-cli-user`: a ledger without keys records what
 * the command writes as `cli:<user>` (with a key, the key id stands instead). Unsendable names are left out.
 */
const cliUser: Record<string, string> = ((): Record<string, string> => {
  try {
    const name = userInfo().username;
    return /^[A-Za-z0-9._-]{1,64}$/.test(name) ? { 'x-ledger-cli-user': name } : {};
  } catch {
    return {};
  }
})();

/** The API key every request carries (LEDGER_API_KEY), when the ledger asks for keys. */
export function useApiKey(secret: string | undefined): void {
  authorization =
    secret === undefined || secret.trim() === '' ? {} : { authorization: `Bearer ${secret.trim()}` };
}

/** The headers that authenticate a request: none without a key. */
export const authHeaders = (): Record<string, string> => ({ ...cliUser, ...authorization });

export async function call(
  baseUrl: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  timeoutMs = 30_000,
): Promise<ClientReply> {
  let response: Response;
  try {
    response = await fetch(new URL(path, baseUrl), {
      method,
      headers: {
        ...cliUser,
        ...authorization,
        ...(body !== undefined && { 'content-type': 'application/json' }),
      },
      ...(body !== undefined && { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    throw new Error(
      `cannot reach the ledger at ${baseUrl} (${(error as Error).message}); start it with "make run" or set LEDGER_URL`,
    );
  }
  const text = await response.text();
  if (response.status === 401) {
    process.stderr.write(
      'the ledger asks for an API key: set LEDGER_API_KEY to the secret "ledger keys create" printed\n',
    );
  }
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: show it as it came.
  }
  return { status: response.status, body: parsed };
}
