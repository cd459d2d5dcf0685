// The firmware-facing protocol API, bundled by protocol/espruino-subset.test.ts and checked against the
// Espruino subset with the firmware build's own checker. Hands the API to the test through the global
// `PROTO` (the test's vm context provides it); no exports, so esbuild adds no module helpers.
import { encodeEnvelope, decodeEnvelope, encode, decode } from "../gen/object-codec.ts";
import { FaultCode } from "../gen/fields.ts";
import { encodeFrame, FrameParser, crc16 } from "../framing.ts";
import { seal, open, hmacSha256 } from "../mac.ts";
import { truncateUtf8, SEQ_MAX } from "../caps.ts";

declare const PROTO: any;
PROTO.api = {
  encodeEnvelope: encodeEnvelope, decodeEnvelope: decodeEnvelope, encode: encode, decode: decode, FaultCode: { FAULT_OUT_OF_MEMORY: FaultCode.FAULT_OUT_OF_MEMORY },
  encodeFrame: encodeFrame, FrameParser: FrameParser, crc16: crc16, seal: seal, open: open, hmacSha256: hmacSha256,
  truncateUtf8: truncateUtf8, SEQ_MAX: SEQ_MAX,
};
