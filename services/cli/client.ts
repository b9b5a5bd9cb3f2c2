/** A small HTTP client for the CLI commands that talk to a running ledger. */
export interface ClientReply {
  readonly status: number;
  readonly body: unknown;
}

let authorization: Record<string, string> = {};

/** The API key every request carries (LEDGER_API_KEY), when the ledger asks for keys. */
export function useApiKey(secret: string | undefined): void {
  authorization =
    secret === undefined || secret.trim() === '' ? {} : { authorization: `Bearer ${secret.trim()}` };
}

/** The headers that authenticate a request: none without a key. */
export const authHeaders = (): Record<string, string> => authorization;

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
