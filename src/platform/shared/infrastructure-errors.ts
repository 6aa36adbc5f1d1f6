/**
 * True for failures of the infrastructure rather than of the work: Postgres or Redis unreachable,
 * connections dropped, pool exhausted (Prisma P2024, or P2028 "unable to start a transaction in the
 * given time": pool or database saturated, nothing ran). Those are retried until the service
 * returns; they must never count against an event (dead-lettering good events because the
 * database restarted).
 */
export function isInfrastructureError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  // Raw queries report a driver failure only in meta (P2010 "Raw query failed"), e.g. kind DatabaseNotReachable.
  const cause = (err as { meta?: { driverAdapterError?: { cause?: { kind?: string; code?: string } } } }).meta
    ?.driverAdapterError?.cause;
  const text = `${err.name} ${err.message} ${(err as { code?: unknown }).code ?? ""} ${cause?.kind ?? ""} ${cause?.code ?? ""}`;
  return /ConnectionClosed|SocketTimeout|TooManyConnections|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|Connection terminated|Connection is closed|connect ETIMEDOUT|timeout exceeded when trying to connect|Client has encountered a connection error|DatabaseNotReachable|P1001|P1002|P1017|P2024|57P01|57P02|57P03|57014|25P03|08006|08001|08003|Stream isn't writeable|MaxRetriesPerRequestError|Unable to start a transaction in the given time/i.test(
    text,
  );
}
