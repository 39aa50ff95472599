/**
 * nftables rulesets (nft(8)). A string is double-quoted and nft has no escape inside quotes, so
 * a double quote or a backslash cannot be said: they are written as `'`, which is all a comment
 * loses. A comment holds at most 128 bytes. Control characters and line breaks are refused.
 * Address sets are written only from IP addresses and prefixes.
 */
import { UnwritableValueError, refuseUnless } from "./refuse.js";

/** nft refuses longer comments (NFTNL_UDATA_COMMENT_MAXLEN). */
export const NFT_COMMENT_MAX_BYTES = 128;

/** `text` as a double-quoted nft string (`"..."`), `"` and `\` written as `'`. */
export function nftString(text: string): string {
  refuseUnless("an nftables string", text, /[\x00-\x1f\x7f-\x9f\u2028\u2029]/, undefined);
  const quoted = text.replace(/["\\]/g, "'");
  if (Buffer.byteLength(quoted) > NFT_COMMENT_MAX_BYTES)
    throw new UnwritableValueError("an nftables string", text, `nft allows at most ${NFT_COMMENT_MAX_BYTES} bytes`);
  return `"${quoted}"`;
}

const ADDRESS = /^(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)(?:\/[0-9]{1,3})?$/;

/** Addresses and prefixes as an anonymous set, `{ a, b }`; anything that is not an IP address or prefix is refused. */
export function nftAddressSet(addresses: readonly string[]): string {
  if (addresses.length === 0) throw new UnwritableValueError("an nftables address set", "", "a set needs at least one address");
  for (const a of addresses) {
    if (!ADDRESS.test(refuseUnless("an nftables address set", a)))
      throw new UnwritableValueError("an nftables address set", a, "it is not an IP address or prefix");
  }
  return `{ ${addresses.join(", ")} }`;
}
