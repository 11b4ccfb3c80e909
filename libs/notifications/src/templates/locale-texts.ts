/** What a text is made of: the code, the app's name and the lifetime in words. */
export interface TextValues {
  code: string;
  app?: string;
  expires: string;
}

/** A channel's texts, by locale (`en`, `hi`, `es-MX`, …). */
export type LocaleTexts = Readonly<Record<string, (values: TextValues) => string>>;
