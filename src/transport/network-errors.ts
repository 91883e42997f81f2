import { AttestationRefusedError, NetworkError, OcipeekError, TlsError } from '../errors/index.js';

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
  'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
  'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
  'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE',
  'EPROTO',
]);

/** The innermost error code of an error chain (wrapped socket errors sit in `cause`). */
export function errorCode(err: unknown): string | undefined {
  let e = err as { code?: unknown; cause?: unknown } | undefined;
  let code: string | undefined;
  for (let depth = 0; e && depth < 5; depth++) {
    if (typeof e.code === 'string') code = e.code;
    e = e.cause as typeof e;
  }
  return code ?? ((err as { code?: string })?.code || undefined);
}

/** True for errors a TLS handshake produces (bad certificate, wrong protocol). */
export function isTlsFailure(err: unknown): boolean {
  const code = errorCode(err);
  if (code && (TLS_CODES.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_'))) {
    return true;
  }
  return /ssl|tls|certificate/i.test(String((err as Error)?.message ?? ''));
}

/**
 * True when a TLS handshake failed because the server answered in plain HTTP (OpenSSL's
 * "wrong version number"), the only failure that justifies retrying a loopback registry
 * over plain HTTP. Certificate errors are never a reason to drop TLS.
 */
export function isPlainHttpAnswer(err: unknown): boolean {
  const code = errorCode(err);
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER') return true;
  return /wrong version number|packet length too long|unknown protocol/i.test(
    String((err as Error)?.message ?? '') + String(((err as Error)?.cause as Error)?.message ?? ''),
  );
}

/** True when the error came from the caller's AbortSignal rather than the network. */
export function isAbort(err: unknown, signal?: AbortSignal): boolean {
  return Boolean(signal?.aborted) || (err as Error)?.name === 'AbortError';
}

/**
 * errno codes after which asking again at once cannot help: nothing listens on the port,
 * the name does not exist, there is no route. (skopeo fails on these in one attempt; a
 * retry loop only made the user wait two seconds for the same answer.)
 */
const FINAL_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * True for failures worth retrying: resets, broken bodies, timeouts. Refused connections,
 * unknown hosts, TLS failures and answers that are not HTTP (`HPE_*`) are final.
 */
export function isRetryableNetworkError(err: unknown): boolean {
  if (err instanceof OcipeekError && !(err instanceof NetworkError)) return false;
  if (isTlsFailure(err)) return false;
  const code = errorCode(err);
  return !(code && (FINAL_CODES.has(code) || code.startsWith('HPE_')));
}

/** True when the server took the connection and sent no response head in time. */
export function isHeadersTimeout(err: unknown): boolean {
  return errorCode(err) === 'ETIMEDOUT_HEADERS';
}

/** What the alerts an RA-TLS server ends a handshake with say about the attestation. */
const REFUSALS: Record<number, string> = {
  42: 'the token, its binding to this connection or the realm measurements were not accepted (bad_certificate)',
  43: 'the client certificate is not one it accepts (unsupported_certificate)',
  46: 'the client certificate was not accepted (certificate_unknown)',
  49: 'access denied (access_denied)',
  116: 'it says no certificate came (certificate_required)',
};

/**
 * An alert an RA-TLS server sent after asking for the client's certificate, as the error
 * users see ({@link AttestationRefusedError}); undefined for any other error.
 */
function attestationRefusal(err: unknown, host: string): AttestationRefusedError | undefined {
  const alert = err as {
    code?: string;
    alert?: number;
    afterCertificateRequest?: boolean;
    certificateSent?: boolean;
    message?: string;
  };
  if (alert?.code !== 'ERR_TLS_ALERT_RECEIVED' || !alert.afterCertificateRequest) return undefined;
  const why = alert.certificateSent
    ? (REFUSALS[alert.alert as number] ?? alert.message)
    : `it requires an attested client certificate and none was sent (${alert.message})`;
  return new AttestationRefusedError(`the registry refused the attestation: ${why} (${host})`, {
    cause: err,
  });
}

/** Turn a low-level socket/TLS error into a one-line ocipeek error naming the host. */
export function toNetworkError(err: unknown, host: string): OcipeekError {
  if (err instanceof OcipeekError) return err;
  const refusal = attestationRefusal(err, host);
  if (refusal) return refusal;
  const code = errorCode(err);
  const detail = (err as Error)?.message ?? String(err);
  if (isTlsFailure(err)) {
    // OpenSSL's words for it ("wrong version number") do not say what happened.
    const plain = isPlainHttpAnswer(err) ? ' (it answered in plain HTTP, not TLS)' : '';
    return new TlsError(
      `TLS failure talking to ${host}${plain}: ${code ? `${code}: ` : ''}${detail}`,
      { cause: err },
    );
  }
  if (code?.startsWith('HPE_')) {
    return new NetworkError(`${host} does not speak HTTP (${code}); is this the registry's port?`, {
      cause: err,
    });
  }
  const what =
    code === 'ECONNREFUSED'
      ? 'connection refused'
      : code === 'ENOTFOUND'
        ? 'host not found'
        : code === 'EAI_AGAIN'
          ? 'name lookup failed for now (EAI_AGAIN: DNS did not answer)'
          : code === 'ETIMEDOUT_HEADERS' || code === 'ETIMEDOUT'
            ? `timed out (${detail})`
            : code === 'ETIMEDOUT_BODY'
              ? 'response body stalled'
              : code === 'ECONNRESET' && /^(aborted|socket hang up)$/.test(detail)
                ? 'connection closed by the server'
                : detail;
  return new NetworkError(`cannot reach ${host}: ${what}`, { cause: err });
}
