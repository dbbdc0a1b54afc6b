import { hostPort, int, optional, str, url, type Spec } from '../spec.js';

/** The cloud side of survivable branch servers (read by `kumo api`). */
export const branchCloudSpec = {
  signingKey: {
    env: 'KUMO_BRANCH_SIGNING_KEY',
    description:
      'Ed25519 private key (PKCS#8 PEM, or base64 of the DER) that signs the configuration snapshots branch servers fetch. Unset: the /v1/branch endpoints answer 409 `KUMO_ERR_BRANCH_NOT_CONFIGURED`. `GET /v1/branch-signing-key` shows the public half for the branches. See docs/branch.md.',
    parse: optional(str({ min: 40 })),
    secret: true,
  },
} satisfies Spec;

/** Settings of `kumo branch`, the survivable branch server of one site (docs/branch.md). */
export const branchSpec = {
  cloudUrl: {
    env: 'KUMO_BRANCH_CLOUD_URL',
    description: "Base URL of the cloud's provisioning API, e.g. https://api.kumo.example (required).",
    parse: optional(url('http:', 'https:')),
  },
  credential: {
    env: 'KUMO_BRANCH_CREDENTIAL',
    description: "The site credential issued by `POST /v1/tenants/:id/sites/:siteId/credential` (required).",
    parse: optional(str({ min: 20 })),
    secret: true,
  },
  cloudPublicKey: {
    env: 'KUMO_BRANCH_CLOUD_PUBLIC_KEY',
    description: 'The public key snapshots are verified with (base64 DER or PEM; `GET /v1/branch-signing-key`). Required: an unsigned or tampered snapshot is refused.',
    parse: optional(str({ min: 40 })),
  },
  keepaliveMs: {
    env: 'KUMO_BRANCH_KEEPALIVE_MS',
    default: '2000',
    description: 'Interval of the keep-alive (status report) to the cloud; each has this long to answer.',
    parse: int(200, 60000),
  },
  lossThreshold: {
    env: 'KUMO_BRANCH_LOSS_THRESHOLD',
    default: '3',
    description: 'Consecutive failed keep-alives after which the branch declares the cloud lost and serves alone.',
    parse: int(1, 100),
  },
  pollWaitS: {
    env: 'KUMO_BRANCH_POLL_WAIT_S',
    default: '5',
    description: 'Long-poll wait of the snapshot fetch (the cloud answers at once when the configuration changed, else after this).',
    parse: int(0, 30),
  },
  opsListen: {
    env: 'KUMO_BRANCH_OPS_LISTEN',
    default: '127.0.0.1:9094',
    description: "Where `kumo branch` serves /metrics (kumo_branch_state, kumo_branch_snapshot_version, kumo_branch_local_cdr_backlog), /healthz and /readyz.",
    parse: hostPort,
  },
  cdrBatch: {
    env: 'KUMO_BRANCH_CDR_BATCH',
    default: '200',
    description: 'CDRs forwarded to the cloud per request when the link returns.',
    parse: int(1, 500),
  },
} satisfies Spec;
