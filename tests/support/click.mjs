// Click ids minted as any holder of the key may: scripts/click.mjs, the
// format an origin writes.
export { keyId, mintClick } from "../../scripts/click.mjs";
