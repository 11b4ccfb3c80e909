/** GSM 03.38's basic alphabet: one septet each. */
const GSM7_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
/** The extension table: two septets each (an escape, then the character). */
const GSM7_EXTENDED = '^{}\\[~]|€\f';

export interface SmsLength {
  encoding: 'GSM-7' | 'UCS-2';
  /** Septets (GSM-7) or UTF-16 code units (UCS-2). */
  units: number;
  /** What one segment holds in this encoding: 160 or 70. */
  singleSegment: number;
  segments: number;
}

/** How an SMS text is encoded and how many segments it takes. */
export function smsLength(text: string): SmsLength {
  let septets = 0;
  for (const char of text) {
    if (GSM7_BASIC.includes(char)) septets += 1;
    else if (GSM7_EXTENDED.includes(char)) septets += 2;
    else {
      const units = text.length;
      return { encoding: 'UCS-2', units, singleSegment: 70, segments: segments(units, 70, 67) };
    }
  }
  return {
    encoding: 'GSM-7',
    units: septets,
    singleSegment: 160,
    segments: segments(septets, 160, 153),
  };
}

function segments(units: number, single: number, concatenated: number): number {
  return units <= single ? 1 : Math.ceil(units / concatenated);
}
