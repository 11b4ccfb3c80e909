import { defineOtpLinkVerify } from './otp-link-verify';

export { OtpLinkVerify, defineOtpLinkVerify } from './otp-link-verify';
export type { OtpLinkVerifyElement, VerifiedDetail, VerifyState } from './otp-link-verify';
export { errorSentence, ERROR_CODES } from './messages';

// Importing the package defines <otp-link-verify> (in a browser).
if (typeof customElements !== 'undefined') defineOtpLinkVerify();
