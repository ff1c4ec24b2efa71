/**
 * The configuration schema of `streamlens serve`: every field with its type, bounds, default and
 * meaning, declared once with TypeBox. The same declaration gives the TypeScript types (below), the
 * JSON Schema that `streamlens config schema` prints (committed as streams/streamlens.schema.json,
 * which the example configs name in `$schema` so editors complete and check them) and what ajv
 * validates (src/config/validate.ts). Defaults are the schema's `default` annotations: the validator
 * fills them in, and DEFAULT_* below are read from them, so no other module states a default.
 *
 * This module imports nothing from the stages: they import their settings types from here.
 *
 * Adding a field:
 *  1. Add it to its object below (ServerSchema, ModelSchema, StreamSchema, or ConfigSchema for a
 *     top-level section) as `Type.Optional(Type.X({ <bounds>, default: <value>, description }))`.
 *     It then appears, filled in, in the settings type (ServerSettings, ModelSettings,
 *     StreamSettings, ServeConfig) that reaches the code, with no other declaration.
 *  2. No static default (it depends on other fields or on the host)? Leave out `default`, say the
 *     rule in `description`, and resolve it in src/config.ts (like a stream's `model`).
 *     A `default` inside a union (`anyOf`) is not applied: give the union itself the default.
 *  3. Rules a JSON Schema cannot state (one field against another, the file system) go to
 *     src/config.ts; report them as a ConfigIssue with the field's path.
 *  4. `npm run config:schema` regenerates streams/streamlens.schema.json (a test compares it), and
 *     docs/configuration.md gets a line in the field's table.
 * Error messages come from the schema (`expected <bounds>, got <value>`); `errorMessage` overrides
 * the "expected ..." part where the bounds alone would read badly (also shown by VS Code).
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/** A string that is one of `values` (a JSON Schema `enum`, which editors offer as completions). */
function OneOf<const T extends readonly string[]>(values: T, options: { default?: T[number]; description?: string } = {}) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

// ---- enumerations the stages share ----

export const EXECUTION_PROVIDERS = ['tensorrt', 'cuda', 'cpu'] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

export const GRAPH_OPTIMIZATION_LEVELS = ['disabled', 'basic', 'extended', 'all'] as const;
export type GraphOptimizationLevel = (typeof GRAPH_OPTIMIZATION_LEVELS)[number];

export const MODEL_FORMATS = ['yolov10', 'yolov8', 'yolov8-seg', 'yolo26-seg'] as const;
export type ModelFormat = (typeof MODEL_FORMATS)[number];

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const RTSP_TRANSPORTS = ['tcp', 'udp'] as const;
export type RtspTransport = (typeof RTSP_TRANSPORTS)[number];

/** Hardware decoding (docs/sources.md): none, NVDEC (cuda), VA-API (vaapi), Quick Sync (qsv). */
export const HWACCELS = ['none', 'cuda', 'vaapi', 'qsv'] as const;
export type HwaccelSetting = (typeof HWACCELS)[number];

const HWACCEL_DEVICE_DESCRIPTION = 'The decoding device: a GPU index for cuda, a DRM render node for vaapi and qsv (default /dev/dri/renderD128).';

export const STREAM_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

// ---- drop policy: a string in the file, a tagged object in the code ----

/**
 * `latest`: always infer the newest decoded frame (drops older waiting frames).
 * `queue:N`: bounded FIFO of N frames, oldest dropped when full.
 * `all`: never drop; decoding is paused when inference is behind.
 */
export type DropPolicy = { kind: 'latest' } | { kind: 'queue'; size: number } | { kind: 'all' };

const DROP_POLICY_PATTERN = /^(?:latest|all|queue:([1-9][0-9]{0,5}))$/;

export function parseDropPolicy(v: unknown): DropPolicy | undefined {
  const m = typeof v === 'string' ? DROP_POLICY_PATTERN.exec(v) : null;
  if (!m) return undefined;
  return m[1] !== undefined ? { kind: 'queue', size: Number(m[1]) } : { kind: v as 'latest' | 'all' };
}

export function formatDropPolicy(p: DropPolicy): string {
  return p.kind === 'queue' ? `queue:${p.size}` : p.kind;
}

// ---- sections ----

export const ServerSchema = Type.Object(
  {
    host: Type.Optional(Type.String({ minLength: 1, default: '127.0.0.1', description: 'Listen address. Binding beyond loopback without authToken logs a warning.' })),
    port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, default: 8080, description: 'Listen port; 0 = any free port.' })),
    authToken: Type.Optional(Type.String({ minLength: 1, description: 'Bearer token for the HTTP API and /ws (header `Authorization: Bearer ...` or `?token=`). None = no auth.' })),
    mediaFolders: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), { default: ['media'], description: 'Folders local file sources must lie in (after resolving `..` and symlinks); relative to the config file.' }),
    ),
    maxPayloadBytes: Type.Optional(Type.Integer({ minimum: 256, maximum: 16 * 1024 * 1024, default: 64 * 1024, description: 'Largest WebSocket message a client may send (1009 beyond).' })),
    maxBodyBytes: Type.Optional(Type.Integer({ minimum: 256, maximum: 16 * 1024 * 1024, default: 64 * 1024, description: 'Largest JSON request body (413 beyond).' })),
    maxUploadBytes: Type.Optional(Type.Integer({ minimum: 1024, maximum: 512 * 1024 * 1024, default: 20 * 1024 * 1024, description: 'Largest image posted to POST /api/detect (413 beyond).' })),
    maxImagePixels: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 1_000_000_000, default: 40_000_000, description: 'Largest image (width x height) POST /api/detect decodes (413 beyond).' }),
    ),
    detectConcurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 64, default: 2, description: 'Images (POST /api/detect, snapshots) decoded at once.' })),
    detectQueue: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 10_000, default: 16, description: 'POST /api/detect requests taken in beyond detectConcurrency (uploading or waiting); beyond that, 503 with Retry-After.' }),
    ),
    detectMemoryMB: Type.Optional(
      Type.Number({
        minimum: 16,
        maximum: 1_048_576,
        default: 256,
        description: 'Memory the image decodes in progress may need together, MiB (each estimated from the image header); an image that alone needs more is refused with 413.',
      }),
    ),
    requestTimeoutMs: Type.Optional(Type.Number({ minimum: 100, maximum: 600_000, default: 10_000, description: 'Time allowed for a whole HTTP request (headers and body), ms.' })),
    clientBufferBytes: Type.Optional(
      Type.Integer({ minimum: 16 * 1024, maximum: 1024 * 1024 * 1024, default: 4 * 1024 * 1024, description: "Per-client bound on the server's send buffer (ws bufferedAmount), bytes." }),
    ),
    stuckClientTimeoutMs: Type.Optional(Type.Number({ minimum: 100, maximum: 3_600_000, default: 10_000, description: 'A client that cannot take messages for this long is closed with 4008, ms.' })),
    ackWindow: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 64,
        default: 2,
        description: 'Frames of a stream sent to a client that acknowledges frames (subscribe "ack": true) and not yet acknowledged, at most (docs/protocol.md, flow control).',
      }),
    ),
    clientMessagesPerSecond: Type.Optional(
      Type.Number({ minimum: 1, maximum: 100_000, default: 100, description: 'Messages a WebSocket client may send per second (bursts of twice that); subscribe/unsubscribe a tenth of it. Beyond, messages are ignored.' }),
    ),
    statsIntervalMs: Type.Optional(Type.Number({ minimum: 50, maximum: 3_600_000, default: 1000, description: 'Period of `stats` messages to WebSocket clients, ms.' })),
    maxClients: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, default: 256, description: 'WebSocket clients beyond this are closed with 1013.' })),
    maxRenditionsPerStream: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 8,
        default: 2,
        description: 'Most smaller JPEG sizes encoded per stream for clients subscribed with maxWidth (only while some client asks); 0 = clients always get the full JPEG.',
      }),
    ),
    sourceHosts: Type.Optional(
      Type.Object(
        {
          allow: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { maxItems: 10_000, description: 'Host names (*.domain for a whole domain), addresses or networks (10.0.0.0/8) network sources may reach; none = any not denied.' })),
          deny: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { maxItems: 10_000, description: 'Host names, addresses or networks network sources may not reach (wins over allow).' })),
        },
        {
          additionalProperties: false,
          description: 'Which hosts streams added over the API may reach (docs/configuration.md, security notes). A name is judged by itself and by the addresses it resolves to.',
        },
      ),
    ),
    sourceErrors: Type.Optional(
      OneOf(['detailed', 'brief'] as const, {
        default: 'detailed',
        description: "How much a stream's lastError tells API and WebSocket users: 'brief' hides why a source could not be opened (the log keeps it).",
      }),
    ),
    metricsPublic: Type.Optional(Type.Boolean({ default: false, description: 'Serve GET /metrics without the token (for a scraper on a trusted network).' })),
    logLevel: Type.Optional(OneOf(LOG_LEVELS, { default: 'info', description: 'Log level; the STREAMLENS_LOG_LEVEL environment variable overrides it.' })),
  },
  { additionalProperties: false, default: {}, description: 'HTTP and WebSocket server.' },
);

export const ModelSchema = Type.Object(
  {
    providers: Type.Optional(
      Type.Array(OneOf(EXECUTION_PROVIDERS), {
        default: [...EXECUTION_PROVIDERS],
        description: 'Execution providers to try in order; one not available on this host is skipped with a warning (GPU first, the CPU always works).',
      }),
    ),
    format: Type.Optional(OneOf(MODEL_FORMATS, { description: 'Output format. Default: detected from the model.' })),
    intraOpThreads: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 256, default: 0, description: "ONNX Runtime intra-op threads; 0 = ONNX Runtime's choice (one per physical core)." }),
    ),
    allowSpinning: Type.Optional(
      Type.Boolean({ default: true, description: "Idle intra-op threads busy-wait (ONNX Runtime's default) or sleep (false: leaves the cycles to ffmpeg on shared cores)." }),
    ),
    graphOptimizationLevel: Type.Optional(OneOf(GRAPH_OPTIMIZATION_LEVELS, { default: 'all', description: "ONNX Runtime's graph optimisation level." })),
    deviceId: Type.Optional(Type.Integer({ minimum: 0, maximum: 63, default: 0, description: 'GPU index for the cuda and tensorrt providers.' })),
    hwaccel: Type.Optional(OneOf(HWACCELS, { default: 'none', description: "Hardware decoding of the streams that run this model (a GPU host decodes where it infers); a stream's own hwaccel overrides it." })),
    hwaccelDevice: Type.Optional(Type.String({ minLength: 1, description: HWACCEL_DEVICE_DESCRIPTION })),
    maxBatch: Type.Optional(Type.Integer({ minimum: 1, maximum: 64, default: 4, description: 'Most frames per inference run, across the streams sharing the model (capped by the model).' })),
    maxWaitMs: Type.Optional(Type.Number({ minimum: 0, maximum: 1000, default: 5, description: 'Longest a partial batch waits for frames of other recently active streams, ms.' })),
    padBatchSizes: Type.Optional(
      Type.Array(Type.Integer({ minimum: 1, maximum: 64 }), {
        default: [],
        errorMessage: 'expected increasing integers from 1 to 64',
        description: 'Pad each run of a dynamic-batch model up to the next of these sizes (fixed shapes for shape-specialised engines); [] = no padding.',
      }),
    ),
    maxQueuePerStream: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1000,
        default: 4,
        description: "Most frames one stream (or one /api/detect request) may have waiting in the model's batcher; beyond it the oldest is dropped (batching.drops.queue-full).",
      }),
    ),
  },
  { additionalProperties: false, description: 'Settings of one model file.' },
);

export const BackoffSchema = Type.Object(
  {
    initialMs: Type.Optional(Type.Number({ minimum: 10, maximum: 600_000, default: 500, description: 'Delay before the first reconnect attempt, ms.' })),
    maxMs: Type.Optional(Type.Number({ minimum: 10, maximum: 3_600_000, default: 30_000, description: 'Longest delay, ms (>= initialMs).' })),
    factor: Type.Optional(Type.Number({ minimum: 1, maximum: 10, default: 2, description: 'Growth of the delay per attempt.' })),
    jitter: Type.Optional(Type.Number({ minimum: 0, maximum: 1, default: 0.3, description: 'Fraction of the delay randomised, 0..1 (full jitter at 1).' })),
  },
  { additionalProperties: false, default: {}, description: 'Backoff before reconnect attempt n: min(maxMs, initialMs * factor^(n-1)), minus a random fraction up to jitter of it. Resets once frames flow.' },
);

/**
 * The tracker's defaults (times in seconds). ByteTrack's published values, except trackThresh and
 * lostTrackSeconds, which the leave-one-sequence-out selection on MOT15 chose (docs/tracker.md,
 * `streamlens mot select`; a test checks that these are what it selects):
 * - trackThresh 0.55: detections at or above take part in the first association (ByteTrack: 0.5 in its
 *   demo, 0.6 for MOTChallenge);
 * - lowThresh 0.1: detections between 0.1 and trackThresh can only continue existing tracks;
 * - newTrackThresh 0.6: only fairly confident detections start tracks;
 * - matchThresh 0.8: first-association pairs need IoU x score >= 0.2;
 * - lostTrackSeconds 2: at most; a track seen only briefly is kept shorter (the tracker's
 *   `lostObservedRatio`);
 * - keepTracksOnReconnect true: a short network hiccup should not renumber every object;
 * - boxes 'detection': a tracked detection reads as the model produced it (docs/tracker.md measures both).
 * A literal rather than `default`s in TrackerSchema: the tracker setting is a union (true, false or
 * an object), inside which ajv applies no defaults, and a stream's tracker inherits the top-level
 * one rather than these.
 */
const TRACKER_DEFAULTS = {
  enabled: true,
  trackThresh: 0.55,
  lowThresh: 0.1,
  newTrackThresh: 0.6,
  matchThresh: 0.8,
  lostTrackSeconds: 2,
  keepTracksOnReconnect: true,
  boxes: 'detection' as 'detection' | 'filtered',
};

const d = TRACKER_DEFAULTS;
export const TrackerSchema = Type.Object(
  {
    enabled: Type.Optional(Type.Boolean({ description: `Run the tracker. Default ${d.enabled}, and true whenever a tracker object is given without it.` })),
    trackThresh: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: `Detections at or above take part in the first association. Default ${d.trackThresh}.` })),
    lowThresh: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: `Detections between this and trackThresh can only continue tracks. Default ${d.lowThresh}.` })),
    newTrackThresh: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: `Unmatched detections at or above start tracks. Default ${d.newTrackThresh}.` })),
    matchThresh: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: `IoU-distance (1 - IoU) limit of the first association. Default ${d.matchThresh}.` })),
    lostTrackSeconds: Type.Optional(Type.Number({ minimum: 0, maximum: 3600, description: `How long a lost track is kept at most, s; a track observed for less time is kept only that long. Default ${d.lostTrackSeconds}.` })),
    keepTracksOnReconnect: Type.Optional(Type.Boolean({ description: `Keep tracks (and ids) across a source reconnect. Default ${d.keepTracksOnReconnect}.` })),
    boxes: Type.Optional(
      Type.Union([Type.Literal('detection'), Type.Literal('filtered')], {
        description: `Box of a tracked detection: the detector's ('detection'), or its track's Kalman-filtered box ('filtered': smoother for a noisy detector, lags objects that turn or change speed). Default '${d.boxes}'.`,
      }),
    ),
  },
  { additionalProperties: false },
);

export const COORDINATES = ['pixels', 'normalized'] as const;
export type Coordinates = (typeof COORDINATES)[number];

const Point = Type.Tuple([Type.Number(), Type.Number()], { errorMessage: 'expected [x, y] (two numbers)' });

const motionObject = (options: { default?: object }) =>
  Type.Object(
    {
      enabled: Type.Optional(Type.Boolean({ default: true, description: 'Run the detector only on frames with motion, on moving or just lost tracked objects, and every keyframeSeconds; other frames carry the last detections forward (docs/motion.md).' })),
      threshold: Type.Optional(Type.Number({ minimum: 1, maximum: 255, default: 20, description: "Levels (0-255) a pixel's colour must differ from the light-compensated background by to count as changed." })),
      minArea: Type.Optional(Type.Number({ minimum: 0, maximum: 1, default: 0.0002, description: 'Smallest changed region that is motion, as a fraction of the frame area.' })),
      keyframeSeconds: Type.Optional(Type.Number({ minimum: 0, maximum: 3600, default: 2, description: 'The detector runs at least this often, seconds of stream time; 0 = on every frame (motion is still measured).' })),
      backgroundSeconds: Type.Optional(Type.Number({ minimum: 0.05, maximum: 3600, default: 1, description: 'Time constant of the background: a change that stays becomes background after a few of these, seconds.' })),
      regions: Type.Optional(Type.Boolean({ default: false, description: 'Also run the detector on windows of the source frame around the motion, at its own pixels, to find small objects on high-resolution cameras (docs/motion.md; costs a source-size copy of every frame and one detector run per window).' })),
      mask: Type.Optional(
        Type.Array(Type.Array(Point, { minItems: 3, maxItems: 1000, errorMessage: 'expected a polygon: at least 3 points [x, y]' }), {
          maxItems: 100,
          default: [],
          description: "Polygons whose changes are not motion (a camera's clock, trees in wind, a screen): the estimate ignores what happens inside them. The detector still sees the whole frame.",
        }),
      ),
      coordinates: Type.Optional(OneOf(COORDINATES, { default: 'pixels', description: "Of the mask: `pixels` (source frame) or `normalized` (0..1 of the frame's width and height)." })),
    },
    { additionalProperties: false, ...options, description: 'Motion gating of the detector (docs/motion.md).' },
  );

export const MotionSchema = motionObject({ default: {} });
/** A document of its own (the file of `analyze --motion-mask`): a root takes no default. */
export const MotionDocumentSchema = motionObject({});

const TrackerSetting = (options: { default?: TrackerConfig; description: string }) => Type.Union([Type.Boolean(), TrackerSchema], options);

// ---- analytics: zones and lines of a stream (docs/analytics.md) ----

/** The point of a box that stands for the object. */
export const ANCHORS = ['bottom-center', 'center', 'top-left', 'top-right', 'bottom-left', 'bottom-right'] as const;
export type Anchor = (typeof ANCHORS)[number];

const RuleName = Type.String({ minLength: 1, maxLength: 64, description: 'Unique among the stream\'s zones (lines); names its events, counts and metrics.' });

/** What zones and lines share. */
const ruleFields = {
  classes: Type.Optional(
    Type.Array(Type.Union([Type.Integer({ minimum: 0 }), Type.String({ minLength: 1 })]), {
      errorMessage: 'expected an array of class ids (integers >= 0) or labels (strings)',
      description: 'Class ids or labels that count; absent or empty = all.',
    }),
  ),
  anchor: Type.Optional(OneOf(ANCHORS, { default: 'bottom-center', description: 'The point of the box that stands for the object.' })),
  minFrames: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 1000, default: 2, description: 'Consecutive frames a track must show a new state before it counts (enter, exit, side of a line).' }),
  ),
  hysteresis: Type.Optional(
    Type.Number({ minimum: 0, maximum: 10, default: 0.1, description: "Dead band around a line and outside a zone's edge, as a fraction of the object's box size ((w + h) / 2)." }),
  ),
  coordinates: Type.Optional(OneOf(COORDINATES, { description: "`pixels` or `normalized` (0..1 of the frame's size). Default: the analytics' coordinates." })),
};

export const ZoneSchema = Type.Object(
  {
    name: RuleName,
    polygon: Type.Array(Point, { minItems: 3, maxItems: 1000, errorMessage: 'expected at least 3 points [x, y]', description: 'Corners in order; convex or concave.' }),
    loiterSeconds: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 86_400, description: 'Dwell (stream seconds) after which one zone_loiter is emitted per visit. None = never.' })),
    ...ruleFields,
  },
  { additionalProperties: false, description: 'A polygon: zone_enter, zone_exit, zone_loiter, occupancy per label.' },
);

export const LineSchema = Type.Object(
  {
    name: RuleName,
    from: Point,
    to: Point,
    ...ruleFields,
  },
  { additionalProperties: false, description: 'A segment: line_cross "in" (from its negative to its positive side) and "out", counts per label.' },
);

const analyticsObject = (options: { default?: object }) =>
  Type.Object(
    {
      coordinates: Type.Optional(OneOf(COORDINATES, { default: 'pixels', description: "`pixels` (source frame) or `normalized` (0..1 of the frame's width and height): the default of the zones and lines." })),
      zones: Type.Optional(Type.Array(ZoneSchema, { maxItems: 100, default: [], description: 'Zones.' })),
      lines: Type.Optional(Type.Array(LineSchema, { maxItems: 100, default: [], description: 'Lines.' })),
    },
    { additionalProperties: false, ...options, description: 'Zones and lines (docs/analytics.md); also the body of PUT /api/streams/:id/analytics and the file of `analyze --analytics`.' },
  );

/** A document of its own (a PUT body, an `--analytics` file): a root takes no default. */
export const AnalyticsSchema = analyticsObject({});

export const StreamSchema = Type.Object(
  {
    id: Type.String({
      pattern: STREAM_ID_PATTERN.source,
      errorMessage: 'expected 1-64 characters from A-Z a-z 0-9 _ . - (starting with a letter or digit)',
      description: 'Unique stream id.',
    }),
    url: Type.String({
      minLength: 1,
      description: 'rtsp://, rtsps://, http:// or https:// URL, or a file path inside a media folder (relative to the config file). Nothing else (no file:, concat:, ...).',
    }),
    model: Type.Optional(Type.String({ minLength: 1, description: 'Model path (relative to the config file). Default: the only model in `models`; required when it lists 0 or several.' })),
    conf: Type.Optional(Type.Number({ minimum: 0, maximum: 1, default: 0.25, description: 'Confidence threshold.' })),
    classes: Type.Optional(
      Type.Array(Type.Integer({ minimum: 0 }), { default: [], errorMessage: 'expected an array of class ids (integers >= 0)', description: 'Class ids to keep; empty = all.' }),
    ),
    fps: Type.Optional(Type.Number({ minimum: 0, maximum: 240, default: 0, description: "Most frames per second taken from the source; 0 = the source's rate." })),
    dropPolicy: Type.Optional(
      Type.String({
        pattern: DROP_POLICY_PATTERN.source,
        errorMessage: 'expected "latest", "all" or "queue:N" (N >= 1)',
        description: 'Where frames are dropped between decoding and inference: "latest", "queue:N" or "all". Default "latest", and "all" for a file with realtime false.',
      }),
    ),
    maxStalenessMs: Type.Optional(Type.Number({ minimum: 0, maximum: 600_000, default: 0, description: 'Drop a frame that waited longer than this when inference could start, ms; 0 = off.' })),
    loop: Type.Optional(Type.Boolean({ default: false, description: 'Finite sources (files, files over HTTP, HLS recordings): start again at the end (else the stream ends).' })),
    realtime: Type.Optional(Type.Boolean({ default: true, description: 'Finite sources: decode at the native frame rate, like a live source; false = as fast as inference takes frames.' })),
    video: Type.Optional(Type.Boolean({ default: true, description: 'Produce JPEG frames for `video` subscribers and the snapshot.' })),
    stallTimeoutSeconds: Type.Optional(Type.Number({ minimum: 0.5, maximum: 3600, default: 10, description: 'No frame for this long while inference waits: the decoder is restarted (counts as a reconnect).' })),
    tracker: Type.Optional(TrackerSetting({ description: 'false, true or tracker settings; default: the top-level tracker. Fields left out come from the top-level tracker.' })),
    motion: Type.Optional(MotionSchema),
    rtspTransport: Type.Optional(OneOf(RTSP_TRANSPORTS, { default: 'tcp', description: 'Transport for RTSP sources.' })),
    deinterlace: Type.Optional(
      Type.Union([Type.Boolean(), Type.Literal('auto')], {
        default: 'auto',
        description: "Deinterlace the source: 'auto' when its field order says it is interlaced, true every frame, false never.",
      }),
    ),
    hwaccel: Type.Optional(OneOf(HWACCELS, { description: "Hardware decoding of this stream (docs/sources.md). Default: its model's hwaccel." })),
    hwaccelDevice: Type.Optional(Type.String({ minLength: 1, description: `${HWACCEL_DEVICE_DESCRIPTION} Default: its model's.` })),
    reconnect: Type.Optional(BackoffSchema),
    probeTimeoutMs: Type.Optional(Type.Number({ minimum: 100, maximum: 600_000, default: 10_000, description: 'Time allowed to open the source in each connection attempt (a live source: until its first frame is decoded), ms.' })),
    jpegQuality: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 75, description: 'JPEG quality of video frames.' })),
    jpegMaxWidth: Type.Optional(Type.Integer({ minimum: 0, maximum: 8192, default: 1280, description: 'Scale JPEGs down to at most this width; 0 = source width.' })),
    analytics: Type.Optional(analyticsObject({ default: {} })),
  },
  { additionalProperties: false, description: 'One stream (also the body of POST /api/streams).' },
);

// ---- event outputs (docs/analytics.md) ----

/** The analytics event types (src/types.ts AnalyticsEventType), for webhook filters and queries. */
export const EVENT_TYPES = ['line_cross', 'zone_enter', 'zone_exit', 'zone_loiter'] as const;

export const MqttSchema = Type.Object(
  {
    url: Type.String({ pattern: '^(mqtts?|wss?)://[^/\\s]', errorMessage: 'expected an mqtt://, mqtts://, ws:// or wss:// URL', description: 'Broker URL, e.g. mqtt://127.0.0.1:1883.' }),
    prefix: Type.Optional(
      Type.String({
        pattern: '^[^/+#\\u0000]([^+#\\u0000]*[^/+#\\u0000])?$',
        default: 'streamlens',
        errorMessage: 'expected topic levels without +, # or a / at either end',
        description: 'First topic level(s) of every topic, e.g. "site1/streamlens".',
      }),
    ),
    username: Type.Optional(Type.String({ minLength: 1, description: 'Broker user name.' })),
    password: Type.Optional(Type.String({ description: 'Broker password.' })),
    qos: Type.Optional(Type.Integer({ minimum: 0, maximum: 2, default: 1, description: 'QoS of every message (events, counts, availability).' })),
    clientId: Type.Optional(Type.String({ minLength: 1, maxLength: 65535, description: 'MQTT client id. Default: streamlens-<random>.' })),
    maxQueue: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1000, description: 'Events kept while the broker is unreachable; beyond, the oldest is dropped (queue_full).' })),
    maxInflight: Type.Optional(Type.Integer({ minimum: 1, maximum: 65_535, default: 100, description: 'Messages handed to the broker and not yet acknowledged.' })),
    connectTimeoutMs: Type.Optional(Type.Number({ minimum: 100, maximum: 600_000, default: 10_000, description: 'Time allowed for one connection attempt, ms.' })),
    reconnect: Type.Optional(BackoffSchema),
  },
  { additionalProperties: false, description: 'Publish events and counts to an MQTT broker (docs/analytics.md).' },
);

export const WebhookSchema = Type.Object(
  {
    url: Type.String({ pattern: '^https?://[^/\\s]', errorMessage: 'expected an http:// or https:// URL', description: 'URL each event is POSTed to.' }),
    types: Type.Optional(Type.Array(OneOf(EVENT_TYPES), { minItems: 1, description: 'Event types to send. Default: all.' })),
    secret: Type.Optional(Type.String({ minLength: 1, description: 'Sign each request: x-streamlens-signature = sha256=HMAC-SHA256(secret, "<x-streamlens-timestamp>.<body>").' })),
    timeoutMs: Type.Optional(Type.Number({ minimum: 100, maximum: 600_000, default: 5000, description: 'Time allowed for one request (connection, request, answer headers), ms.' })),
    maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 5, description: 'Attempts per event, the first included (5xx, 408, 429, timeouts and connection errors are retried).' })),
    maxQueue: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1000, description: 'Events waiting for this webhook; beyond, the oldest is dropped (queue_full).' })),
    retry: Type.Optional(BackoffSchema),
  },
  { additionalProperties: false, description: 'POST every event to a URL (docs/analytics.md).' },
);

export const EventStoreSchema = Type.Object(
  {
    enabled: Type.Optional(Type.Boolean({ default: true, description: 'Keep events (needs dataDir); false keeps none even with a dataDir.' })),
    retentionDays: Type.Optional(Type.Number({ minimum: 0, maximum: 36_500, default: 30, description: 'Events older than this are deleted; 0 = no age limit.' })),
    maxRows: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000, default: 500_000, description: 'The oldest events beyond this many are deleted; 0 = no limit.' })),
    snapshots: Type.Optional(Type.Boolean({ default: true, description: "Store a JPEG of each event's frame with the object's box (streams with video)." })),
    maxSnapshotMB: Type.Optional(Type.Number({ minimum: 1, maximum: 10_000_000, default: 1024, description: 'Snapshot files together stay under this; the oldest snapshots are deleted first (their events stay), MiB.' })),
    maxQueue: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, default: 10_000, description: 'Events waiting to be written; beyond, the oldest is dropped (queue_full).' })),
  },
  { additionalProperties: false, description: 'The event store in <dataDir>/events, on whenever dataDir is set (docs/analytics.md).' },
);

export const EventsSchema = Type.Object(
  {
    mqtt: Type.Optional(MqttSchema),
    webhooks: Type.Optional(Type.Array(WebhookSchema, { default: [], description: 'Webhooks, each delivered to on its own.' })),
    store: Type.Optional(EventStoreSchema),
  },
  { additionalProperties: false, default: {}, description: 'Where analytics events go besides the WebSocket (docs/analytics.md).' },
);

// ---- cluster mode (docs/cluster.md) ----

export const ClusterSchema = Type.Object(
  {
    redis: Type.String({ pattern: '^rediss?://[^/\\s]', errorMessage: 'expected a redis:// or rediss:// URL', description: 'Redis URL the nodes share, e.g. redis://10.0.0.5:6379/0 (the database number separates clusters on one Redis).' }),
    nodeId: Type.Optional(
      Type.String({
        pattern: STREAM_ID_PATTERN.source,
        errorMessage: 'expected 1-64 characters from A-Z a-z 0-9 _ . - (starting with a letter or digit)',
        description: "This node's id, unique in the cluster. Default: <host name>-<port>.",
      }),
    ),
    url: Type.Optional(Type.String({ pattern: '^https?://[^/\\s]', errorMessage: 'expected an http:// or https:// URL', description: 'Where clients reach this node (shown in GET /api/cluster). Default: http://<listen host>:<port>.' })),
    heartbeatMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 60_000, default: 1000, description: 'How often the node heartbeats, renews its leases and reconciles placement, ms.' })),
    nodeTtlMs: Type.Optional(Type.Integer({ minimum: 300, maximum: 600_000, default: 5000, description: 'A node not heard from for this long is gone: its streams are placed elsewhere, ms (> heartbeatMs).' })),
    leaseTtlMs: Type.Optional(Type.Integer({ minimum: 300, maximum: 600_000, default: 5000, description: "A stream's lease lasts this long unless renewed; nobody else may run the stream before it expires, ms (> heartbeatMs)." })),
    maxStreams: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000, default: 0, description: 'Most streams this node runs; 0 = no limit.' })),
    weight: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1000, default: 1, description: 'Share of the streams relative to other nodes (e.g. 4 for a GPU node beside CPU nodes of weight 1).' })),
    loadFactor: Type.Optional(Type.Number({ minimum: 1, maximum: 10, default: 1.25, description: 'Bounded load: no node runs more than ceil(loadFactor x streams x its weight share).' })),
  },
  { additionalProperties: false, description: 'Run as a node of a cluster whose desired state, membership and leases live in Redis (docs/cluster.md).' },
);

export const ConfigSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String({ description: 'The JSON Schema of this file, for editors (e.g. "./streamlens.schema.json"). Ignored by the server.' })),
    server: Type.Optional(ServerSchema),
    models: Type.Optional(
      Type.Record(Type.String({ minLength: 1 }), ModelSchema, {
        default: {},
        errorMessage: 'expected an object keyed by model path',
        description: 'Per-model settings keyed by model path (relative to the config file). A model a stream uses but not listed here gets the defaults.',
      }),
    ),
    tracker: Type.Optional(TrackerSetting({ default: TRACKER_DEFAULTS, description: "Tracker (ByteTrack) defaults for every stream; a stream's `tracker` overrides them. false disables tracking." })),
    streams: Type.Optional(Type.Array(StreamSchema, { default: [], description: 'Streams to start; more can be added over the API.' })),
    dataDir: Type.Optional(Type.String({ minLength: 1, description: 'Folder the server keeps data in (the event store), relative to the config file. None = no event store.' })),
    stateFile: Type.Optional(
      Type.Union([Type.String({ minLength: 1 }), Type.Literal(false)], {
        errorMessage: 'expected a file path or false',
        description:
          'File the streams added, changed or removed over the API are kept in and restored from at start, relative to the config file. Default: <config name>.state.json next to the config file (none for the built-in demo); false = not kept. A cluster node keeps its streams in Redis instead.',
      }),
    ),
    events: Type.Optional(EventsSchema),
    cluster: Type.Optional(ClusterSchema),
  },
  { additionalProperties: false, title: 'streamlens serve configuration', description: 'docs/configuration.md' },
);

/** The JSON Schema document that `streamlens config schema` prints. */
export function configJsonSchema(): Record<string, unknown> {
  return { $schema: 'http://json-schema.org/draft-07/schema#', ...(JSON.parse(JSON.stringify(ConfigSchema)) as Record<string, unknown>) };
}

// ---- the settings types the code receives: the schema's, with every default filled in ----

/** Every field of T present (defaults applied), except those in `Optional`; flattened for readable hovers. */
type Filled<T, Optional extends keyof T = never> = {
  [K in keyof T as K extends Optional ? never : K]-?: Exclude<T[K], undefined>;
} & { [K in Optional]?: T[K] } extends infer R
  ? { [K in keyof R]: R[K] }
  : never;

export type ServerSettings = Filled<Static<typeof ServerSchema>, 'authToken' | 'sourceHosts'>;
export type BackoffSettings = Filled<Static<typeof BackoffSchema>>;
export type TrackerConfig = Filled<Static<typeof TrackerSchema>>;
export type MotionConfig = Filled<Static<typeof MotionSchema>>;
export type ModelSettings = Filled<Static<typeof ModelSchema>, 'format' | 'hwaccelDevice'> & {
  /** Absolute path of the model file. */
  path: string;
};
/** What opening an ONNX Runtime session takes from a model's settings. */
export type SessionSettings = Pick<ModelSettings, 'providers' | 'intraOpThreads' | 'allowSpinning' | 'graphOptimizationLevel' | 'deviceId'>;
/** How ingest reads a source: files paced at their frame rate and looped, the RTSP transport, deinterlacing. */
export type SourceSettings = Pick<StreamSettings, 'realtime' | 'loop' | 'rtspTransport' | 'deinterlace'>;
type RuleOptional = 'classes' | 'coordinates';
export type ZoneSettings = Filled<Static<typeof ZoneSchema>, RuleOptional | 'loiterSeconds'>;
export type LineSettings = Filled<Static<typeof LineSchema>, RuleOptional>;
export type AnalyticsSettings = { coordinates: Coordinates; zones: ZoneSettings[]; lines: LineSettings[] };
/** Analytics settings as written (optional fields left out); parseAnalytics (src/config.ts) gives AnalyticsSettings. */
export type AnalyticsInput = Static<typeof AnalyticsSchema>;
export type StreamSettings = Filled<Omit<Static<typeof StreamSchema>, 'dropPolicy' | 'tracker' | 'reconnect' | 'analytics' | 'motion'>, 'hwaccelDevice'> & {
  dropPolicy: DropPolicy;
  tracker: TrackerConfig;
  reconnect: BackoffSettings;
  analytics: AnalyticsSettings;
  motion: MotionConfig;
};

export type MqttSettings = Filled<Omit<Static<typeof MqttSchema>, 'qos' | 'reconnect'>, 'username' | 'password' | 'clientId'> & {
  qos: 0 | 1 | 2;
  reconnect: BackoffSettings;
};
export type WebhookSettings = Filled<Omit<Static<typeof WebhookSchema>, 'retry'>, 'types' | 'secret'> & { retry: BackoffSettings };
export type EventStoreSettings = Filled<Omit<Static<typeof EventStoreSchema>, 'enabled'>> & {
  /** Absolute folder of the database and snapshots: `<dataDir>/events`. */
  dir: string;
};
export type ClusterSettings = Filled<Static<typeof ClusterSchema>, 'nodeId' | 'url'>;
export interface EventsSettings {
  mqtt?: MqttSettings;
  webhooks: WebhookSettings[];
  /** Set when the config has a dataDir and `events.store` is not false. */
  store?: EventStoreSettings;
}

/** The schema's defaults of an object schema whose fields all have one. */
function defaultsOf<T extends TSchema>(schema: T): Filled<Static<T>> {
  return Value.Default(schema, {}) as Filled<Static<T>>;
}

export const DEFAULT_TRACKER: TrackerConfig = TRACKER_DEFAULTS;
export const DEFAULT_MOTION: MotionConfig = defaultsOf(MotionSchema);
export const DEFAULT_SERVER: ServerSettings = defaultsOf(ServerSchema);
export const DEFAULT_MODEL: Omit<ModelSettings, 'path'> = defaultsOf(ModelSchema);
export const DEFAULT_BACKOFF: BackoffSettings = defaultsOf(BackoffSchema);
export const DEFAULT_MQTT = defaultsOf(Type.Omit(MqttSchema, ['url', 'username', 'password', 'clientId']));
export const DEFAULT_WEBHOOK = defaultsOf(Type.Omit(WebhookSchema, ['url', 'types', 'secret']));
export const DEFAULT_EVENT_STORE = defaultsOf(Type.Omit(EventStoreSchema, ['enabled']));
export const DEFAULT_CLUSTER = defaultsOf(Type.Omit(ClusterSchema, ['redis', 'nodeId', 'url']));
/** A stream's defaults, for the fields that have a static one. */
export const DEFAULT_STREAM = defaultsOf(Type.Omit(StreamSchema, ['id', 'url', 'model', 'dropPolicy', 'tracker']));
/** No zones, no lines. */
export const DEFAULT_ANALYTICS: AnalyticsSettings = defaultsOf(AnalyticsSchema) as AnalyticsSettings;
