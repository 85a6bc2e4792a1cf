/** Plain rows the store returns (camelCase, as the entity types name them). */
export interface UserRecord {
  id: string;
  email: string;
  hashedPassword: string | null;
  isActive: boolean;
  isVerified: boolean;
  isSuperuser: boolean;
  createdAt: Date;
}
export interface IssuedRefreshToken {
  /** The opaque token to hand to the client: returned once, never stored (only its sha256 digest is). */
  token: string;
  id: string;
  userId: string;
  familyId: string;
  expiresAt: Date;
}
export interface SessionRecord {
  familyId: string;
  startedAt: Date;
  lastUsedAt: Date;
  expiresAt: Date;
  userAgent: string | null;
  ipAddress: string | null;
}
export interface OAuthAccountRecord {
  id: string;
  provider: string;
  providerUserId: string;
  userId: string;
  providerEmail: string | null;
  accessToken: string | null;
  refreshToken: string | null;
  expiresAt: Date | null;
  createdAt: Date;
}
export interface PasskeyRecord {
  id: string;
  userId: string;
  credentialId: string;
  publicKey: string;
  signCount: number;
  deviceName: string;
  transports: string;
  backedUp: boolean;
  createdAt: Date;
  lastUsedAt: Date | null;
}
/** What `syncRoles()` changed. */
export interface RoleSyncResult {
  createdRoles: string[];
  createdPermissions: string[];
  granted: string[];
  revoked: string[];
}
