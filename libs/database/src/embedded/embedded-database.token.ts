/** Injection token: the embedded database of this process (EmbeddedDatabase), or null on PostgreSQL. */
export const EMBEDDED_DATABASE = Symbol('EMBEDDED_DATABASE');
