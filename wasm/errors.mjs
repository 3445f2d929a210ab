// errors.mjs: the error every rejection of the API is. atelier.mjs exports
// it; the in-place loader (engine.mjs) hands the class to the Go side.

/** The codes of AtelierError, as atelier.d.ts lists them in ErrorCode. */
export const errorCodes = Object.freeze([
  "NotFound", "Invalid", "InvalidRef", "InvalidPackage", "VersionConflict", "Closed",
  "QuotaExceeded", "SchemaTooNew", "Unsupported", "ReadOnly", "InUse", "Permission",
  "NotUploaded", "Corrupt", "ExportFailed", "Aborted", "Timeout", "Unavailable", "WriteFailed",
  "Internal",
]);

/** The Error every rejection of the API is: its name and code say what went wrong. */
export class AtelierError extends Error {
  constructor(message, code = "Internal") {
    super(message);
    this.name = code;
    this.code = code;
  }
}

/** Reports whether e is an error of the API, and with code whether it has that code. */
export function isAtelierError(e, code) {
  const ok = e instanceof AtelierError || (e instanceof Error && errorCodes.includes(e.code));
  return ok && (code === undefined || e.code === code);
}
