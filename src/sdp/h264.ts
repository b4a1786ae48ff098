// H.264 a=fmtp helpers (RFC 6184 §8.1): profile-level-id and packetization-mode.

export type H264Profile =
  'constrained-baseline' | 'baseline' | 'main' | 'extended' | 'high' | 'constrained-high' | 'high-10' | 'high-422' | 'high-444' | 'cavlc-444' | 'unknown';

export interface ProfileLevelId {
  /** profile_idc, e.g. 0x42 = 66 */
  profileIdc: number;
  /** the constraint_set flags byte (profile-iop) */
  profileIop: number;
  /** level_idc, e.g. 0x1f = 31 */
  levelIdc: number;
  profile: H264Profile;
  /** e.g. '3.1', '4', '1b' */
  level: string;
}

// profile_idc + a bit pattern of profile-iop ('x' = any bit) → profile, as in RFC 6184 Table 5 and
// libwebrtc's h264_profile_level_id.cc. First match wins.
const PROFILE_PATTERNS: { idc: number; pattern: string; profile: H264Profile }[] = [
  { idc: 0x42, pattern: 'x1xx0000', profile: 'constrained-baseline' },
  { idc: 0x4d, pattern: '1xxx0000', profile: 'constrained-baseline' },
  { idc: 0x58, pattern: '11xx0000', profile: 'constrained-baseline' },
  { idc: 0x42, pattern: 'x0xx0000', profile: 'baseline' },
  { idc: 0x58, pattern: '10xx0000', profile: 'baseline' },
  { idc: 0x4d, pattern: '0x0x0000', profile: 'main' },
  { idc: 0x64, pattern: '00000000', profile: 'high' },
  { idc: 0x64, pattern: '00001100', profile: 'constrained-high' },
  { idc: 0xf4, pattern: '00000000', profile: 'high-444' },
];

// Fallback by profile_idc alone when the flags fit no pattern above.
const PROFILE_BY_IDC: Record<number, H264Profile> = {
  0x42: 'baseline',
  0x4d: 'main',
  0x58: 'extended',
  0x64: 'high',
  0x6e: 'high-10',
  0x7a: 'high-422',
  0xf4: 'high-444',
  0x2c: 'cavlc-444',
};

function matches(pattern: string, byte: number): boolean {
  for (let i = 0; i < 8; i++) {
    const want = pattern[i];
    if (want === 'x') continue;
    const bit = (byte >> (7 - i)) & 1;
    if (String(bit) !== want) return false;
  }
  return true;
}

/** Parses a profile-level-id (6 hex digits). Returns undefined when it is not 6 hex digits. */
export function parseProfileLevelId(hex: string | undefined): ProfileLevelId | undefined {
  if (hex === undefined || !/^[0-9a-fA-F]{6}$/.test(hex)) return undefined;
  const n = Number.parseInt(hex, 16);
  const profileIdc = (n >> 16) & 0xff;
  const profileIop = (n >> 8) & 0xff;
  const levelIdc = n & 0xff;
  const hit = PROFILE_PATTERNS.find((p) => p.idc === profileIdc && matches(p.pattern, profileIop));
  const profile = hit?.profile ?? PROFILE_BY_IDC[profileIdc] ?? 'unknown';
  // Level 1b: level_idc 11 with constraint_set3 in the Baseline/Main/Extended profiles, or level_idc 9.
  const constraintSet3 = (profileIop & 0x10) !== 0;
  let level: string;
  if (levelIdc === 9 || (levelIdc === 11 && constraintSet3 && [0x42, 0x4d, 0x58].includes(profileIdc))) {
    level = '1b';
  } else {
    level = levelIdc % 10 === 0 ? String(levelIdc / 10) : (levelIdc / 10).toFixed(1);
  }
  return { profileIdc, profileIop, levelIdc, profile, level };
}

/** packetization-mode from parsed fmtp (keys lower-case); absent means 0 (RFC 6184 §8.1). */
export function packetizationMode(fmtp: Record<string, string>): number {
  const raw = fmtp['packetization-mode'];
  if (raw === undefined || raw.trim() === '') return 0;
  const n = Number(raw.trim());
  return Number.isInteger(n) ? n : -1;
}

/** onecast carries H.264 only as packetization-mode 1 (single NAL units, STAP-A, FU-A). */
export function isUsableH264(fmtp: Record<string, string>): boolean {
  return packetizationMode(fmtp) === 1;
}

/** A short human label, e.g. "constrained-baseline 3.1", for logs and the rooms API. */
export function describeProfileLevelId(hex: string | undefined): string | undefined {
  const p = parseProfileLevelId(hex);
  return p ? `${p.profile} ${p.level}` : undefined;
}

/**
 * The profile-level-id libwebrtc assumes when an H.264 a=fmtp has none: Constrained Baseline 3.1.
 * (RFC 6184 §8.1 says 420010, Baseline 1.0; every WebRTC stack onecast meets follows libwebrtc.)
 */
export const DEFAULT_PROFILE_LEVEL_ID = '42e01f';

/** The profile-level-id of an H.264 fmtp, DEFAULT_PROFILE_LEVEL_ID when absent, undefined when malformed. */
export function h264ProfileLevelId(fmtp: Record<string, string>): ProfileLevelId | undefined {
  return parseProfileLevelId(fmtp['profile-level-id'] ?? DEFAULT_PROFILE_LEVEL_ID);
}

/** level-asymmetry-allowed=1 (RFC 6184 §8.1). */
export function levelAsymmetryAllowed(fmtp: Record<string, string>): boolean {
  return fmtp['level-asymmetry-allowed']?.trim() === '1';
}

/** A number that orders levels: level_idc, with 1b between 1 and 1.1. */
function levelRank(p: ProfileLevelId): number {
  return p.level === '1b' ? 10.5 : p.levelIdc;
}

/**
 * libwebrtc's IsSameH264Profile: both profile-level-ids parse and name the same profile (after mapping
 * profile_idc + constraint flags to a named profile, so 42e01f and 42c01f are both Constrained Baseline,
 * 42001f is Baseline). The level does not take part. Two ids whose profile is 'unknown' are the same
 * only when their profile_idc and flags are identical.
 */
export function isSameH264Profile(a: Record<string, string>, b: Record<string, string>): boolean {
  const pa = h264ProfileLevelId(a);
  const pb = h264ProfileLevelId(b);
  if (!pa || !pb) return false;
  if (pa.profile !== 'unknown') return pa.profile === pb.profile;
  return pb.profile === 'unknown' && pa.profileIdc === pb.profileIdc && pa.profileIop === pb.profileIop;
}

/**
 * How well a receiver's H.264 entry (fmtp `receiver`) fits a stream described by `source` (RFC 6184
 * §8.2.2, libwebrtc's rule): undefined when it cannot take it (packetization-mode differs, or another
 * profile), otherwise
 * - 'same-profile': the same named profile;
 * - 'baseline-fallback': the source is Constrained Baseline and the receiver offers plain Baseline
 *   (a Constrained Baseline stream is a Baseline stream).
 * levelOk: the receiver's level is at least the source's, or it allows level asymmetry.
 */
export function h264Compatibility(
  source: Record<string, string>,
  receiver: Record<string, string>,
): { match: 'same-profile' | 'baseline-fallback'; levelOk: boolean } | undefined {
  if (packetizationMode(source) !== packetizationMode(receiver)) return undefined;
  const ps = h264ProfileLevelId(source);
  const pr = h264ProfileLevelId(receiver);
  if (!ps || !pr) return undefined;
  const levelOk = levelRank(pr) >= levelRank(ps) || levelAsymmetryAllowed(receiver);
  if (isSameH264Profile(source, receiver)) return { match: 'same-profile', levelOk };
  if (ps.profile === 'constrained-baseline' && pr.profile === 'baseline') return { match: 'baseline-fallback', levelOk };
  return undefined;
}
