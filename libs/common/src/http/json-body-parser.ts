import { parse } from 'secure-json-parse';
import { AppError } from '../errors/app-error';
import { ErrorCode } from '../errors/error-code';

/**
 * The body of a request whose JSON did not parse, on routes that answer that in their own
 * contract's shape (the sign-in flows' `{"error":"bad request"}`) instead of the service's.
 */
export const MALFORMED_JSON: unique symbol = Symbol('malformed JSON');

/** Routes whose handlers get MALFORMED_JSON instead of the service's VALIDATION_FAILED. */
export const OWN_BAD_JSON_ROUTES = /^\/gortas\//;

/** Deeper than any request of the API needs; deeper input is refused before parsing. */
export const MAX_JSON_DEPTH = 32;

/**
 * Parses a JSON request body: refuses nesting deeper than MAX_JSON_DEPTH (deep input would
 * exhaust the stack in validation later) and prototype-poisoning keys, each as 400
 * VALIDATION_FAILED.
 */
export function parseJsonBody(text: string): unknown {
  if (exceedsDepth(text, MAX_JSON_DEPTH)) {
    throw invalid(`request body is nested deeper than ${MAX_JSON_DEPTH} levels`);
  }
  try {
    return parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch {
    throw invalid('request body is not valid JSON');
  }
}

/** One pass over the text counting open brackets outside strings. */
function exceedsDepth(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (inString) {
      if (char === 0x5c /* \ */) i++;
      else if (char === 0x22 /* " */) inString = false;
    } else if (char === 0x22) {
      inString = true;
    } else if (char === 0x7b /* { */ || char === 0x5b /* [ */) {
      if (++depth > maxDepth) return true;
    } else if (char === 0x7d /* } */ || char === 0x5d /* ] */) {
      depth--;
    }
  }
  return false;
}

function invalid(message: string): AppError {
  return new AppError(ErrorCode.ValidationFailed, { details: [] }, message);
}
