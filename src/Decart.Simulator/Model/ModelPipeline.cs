using Decart.Rtc.Codecs;
using System.Buffers;
using System.Text.Json.Serialization;
using System.Threading.Channels;
using Decart.Simulator.Constraints;

namespace Decart.Simulator.Model;

/// <summary>How the simulator's model makes its output.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ModelMode>))]
public enum ModelMode
{
    /// <summary>
    /// Decode the camera, scale to the model's size, draw the state (tone, prompt banner, image inset) and the
    /// <see cref="Decart.Sdk.Testing.StateStamp"/>, encode at the model's size and fps, in the session's codec (VP8 with
    /// libvpx, H.264 with OpenH264; a codec whose library is missing falls back to <see cref="Echo"/>). The default.
    /// </summary>
    [JsonStringEnumMemberName("transform")]
    Transform,

    /// <summary>Forward the received bitstream as the output, after the processing latency: cheap, for load tests.</summary>
    [JsonStringEnumMemberName("echo")]
    Echo,
}

/// <summary>One output frame, as the frame log (<c>GET /_sim/sessions/{id}/frames</c>) shows it.</summary>
/// <param name="OutputFrame">Its number (transform: 1 = the first made, as in its stamp; echo: 1 = the first sent).</param>
/// <param name="InputFrame">The number of the input frame it was made from (1 = the first received).</param>
/// <param name="Version">The state version it was made with (0: none yet).</param>
/// <param name="PromptHash">First 8 hex digits of SHA-256 of the prompt, or null.</param>
/// <param name="ImageHash">SHA-256 (hex) of the reference image, or null.</param>
/// <param name="LatencyMs">Time from the input frame's arrival to this frame's send, in milliseconds.</param>
/// <param name="Mode">The mode that made it (<c>transform</c> or <c>echo</c>).</param>
/// <param name="InputsBehind">How many newer input frames had arrived when it was sent: the model's backlog, bounded by design.</param>
/// <param name="WorkMs">CPU time of the simulator's own work on it (transform and encode; 0 in echo mode), in milliseconds.</param>
public sealed record FrameRecord(long OutputFrame, long InputFrame, int Version, string? PromptHash, string? ImageHash, double LatencyMs, string Mode, long InputsBehind, double WorkMs = 0);

/// <summary>What a model pipeline needs from its session: the model, the state, the media connection, a clock.</summary>
internal interface IModelHost
{
    /// <summary>The model served (its size and fps).</summary>
    SimulatedModel Model { get; }

    /// <summary>The clock (the session's <see cref="TimeProvider"/>).</summary>
    TimeProvider Time { get; }

    /// <summary>The state to draw now.</summary>
    RenderState CurrentState();

    /// <summary>The processing latency for the next frame (mean ± jitter).</summary>
    TimeSpan SampleLatency();

    /// <summary>Sends one encoded output frame; false when the media connection cannot send (yet).</summary>
    /// <param name="frame">The encoded frame.</param>
    /// <param name="rtpTimestamp">Its RTP timestamp.</param>
    /// <param name="captureTimestamp">The capture time of the input frame it was made from (the LKTS user timestamp,
    /// epoch microseconds), or 0: sent on in the output's trailer when the client asked for frame timing.</param>
    bool Send(ReadOnlySpan<byte> frame, uint rtpTimestamp, ulong captureTimestamp);

    /// <summary>Asks the client for a keyframe (PLI), after a drop or a decode failure.</summary>
    void RequestInputKeyframe();

    /// <summary>An output frame went out.</summary>
    void OnOutput(FrameRecord record);
}

/// <summary>
/// The session's "model": input frames in (<see cref="OnInput"/>, from the media receive path, never blocking it),
/// output frames out through <see cref="IModelHost.Send"/>. Data flows one way; the session's state reaches the model
/// only through <see cref="IModelHost.CurrentState"/>.
/// </summary>
internal abstract class ModelPipeline : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly object _inputGate = new();
    private readonly object _askGate = new();
    private bool _awaitingKeyframe;
    private long _keyframeAskedAt;
    private Task _running = Task.CompletedTask;
    private long _dropped;
    private long _inputs;

    protected ModelPipeline(IModelHost host)
    {
        Host = host;
    }

    /// <summary>The mode's name in the frame log.</summary>
    public abstract string Mode { get; }

    /// <summary>Input frames not turned into output (superseded by a newer one, a full queue, waiting for a keyframe, stale after a stall).</summary>
    public long FramesDropped => Interlocked.Read(ref _dropped);

    /// <summary>Input frames that could not be decoded.</summary>
    public long DecodeErrors { get; protected set; }

    protected IModelHost Host { get; }

    /// <summary>
    /// Creates the pipeline for a mode and codecs; transform needs the codecs' libraries, else it echoes. When the
    /// output codec differs from the camera's (a two-connection room whose subscriber connection chose another),
    /// echo cannot serve and transform is used whenever it can be.
    /// </summary>
    public static ModelPipeline Create(ModelMode mode, RtpCodec inputCodec, RtpCodec outputCodec, IModelHost host)
    {
        bool canTransform = ModelCodecs.CanTransform(inputCodec) && ModelCodecs.CanTransform(outputCodec);
        bool transform = canTransform && (mode == ModelMode.Transform || inputCodec != outputCodec);
        return transform ? new TransformPipeline(host, inputCodec, outputCodec) : new EchoPipeline(host);
    }

    /// <summary>Starts the pipeline's loops.</summary>
    public void Start() => _running = Task.Run(async () =>
    {
        try
        {
            await RunAsync(_stop.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A codec that fails (a library refusing its settings, an encoder error) stops this pipeline, never the session.
            Failure = ex;
        }
    });

    /// <summary>One received frame, with its arrival timestamp (<see cref="TimeProvider.GetTimestamp"/>) and its capture
    /// time from the publisher's packet trailer (epoch microseconds, 0 when it had none). Must not block.</summary>
    public void OnInput(ReadOnlySpan<byte> frame, uint rtpTimestamp, bool isKeyframe, long arrival, ulong captureTimestamp = 0) =>
        Accept(new InputFrame(rtpTimestamp, isKeyframe, Interlocked.Increment(ref _inputs), arrival, captureTimestamp), frame);

    /// <summary>The viewer asked for a keyframe (its PLI).</summary>
    public abstract void OnKeyframeRequested();

    /// <summary>Why the pipeline stopped on its own (a codec that failed), or null.</summary>
    public Exception? Failure { get; private set; }

    /// <summary>Stops the loops and frees the codecs. Never throws: a loop's failure is kept in <see cref="Failure"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _running.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Failure ??= ex;
        }

        _stop.Dispose();
    }

    protected abstract void Accept(InputFrame meta, ReadOnlySpan<byte> frame);

    /// <summary>
    /// The input side both modes share: a copy of the frame into a bounded queue, never blocking the receive path.
    /// When the queue is full the frame is dropped and everything after it until a keyframe (which is asked for): an
    /// encoded stream cannot skip a frame and stay decodable.
    /// </summary>
    protected void Enqueue(Channel<PendingFrame> queue, InputFrame meta, ReadOnlySpan<byte> frame)
    {
        lock (_inputGate)
        {
            if (_awaitingKeyframe && !meta.IsKeyframe)
            {
                Dropped();
                AskForInputKeyframe(first: false);
                return;
            }

            _awaitingKeyframe = false;
            var copy = ArrayPool<byte>.Shared.Rent(frame.Length);
            frame.CopyTo(copy);
            if (!queue.Writer.TryWrite(new PendingFrame(copy, frame.Length, meta)))
            {
                ArrayPool<byte>.Shared.Return(copy);
                Dropped();
                _awaitingKeyframe = true;
                AskForInputKeyframe(first: true);
            }
        }
    }

    /// <summary>
    /// How long a pipeline waiting for a keyframe waits before asking again: a request lost on the way (RTCP is UDP
    /// too) or one the publisher's encoder passed over would otherwise leave it dropping every frame for good.
    /// </summary>
    internal static readonly TimeSpan KeyframeAskInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Asks the publisher for a keyframe: at once when a wait for one begins (<paramref name="first"/>), and while it
    /// lasts on a dropped frame, at most once per <see cref="KeyframeAskInterval"/> (<see cref="IModelHost.Time"/>; no
    /// timer: a publisher that sends nothing is asked nothing more).
    /// </summary>
    protected void AskForInputKeyframe(bool first)
    {
        lock (_askGate)
        {
            long now = Host.Time.GetTimestamp(); // read under the lock: a later ask never records an earlier time
            if (!first && Host.Time.GetElapsedTime(_keyframeAskedAt, now) < KeyframeAskInterval)
            {
                return;
            }

            _keyframeAskedAt = now;
        }

        Host.RequestInputKeyframe();
    }

    /// <summary>Returns the buffers of whatever is still queued.</summary>
    protected static void Drain(Channel<PendingFrame> queue)
    {
        queue.Writer.TryComplete();
        while (queue.Reader.TryRead(out var left))
        {
            ArrayPool<byte>.Shared.Return(left.Buffer);
        }
    }

    /// <summary>What is known of one received frame besides its bytes.</summary>
    /// <param name="RtpTimestamp">Its RTP timestamp.</param>
    /// <param name="IsKeyframe">It is a keyframe.</param>
    /// <param name="Input">Its number (1 = the first received).</param>
    /// <param name="Arrival">When it arrived (<see cref="IModelHost.Time"/> timestamp).</param>
    /// <param name="Capture">Its capture time from the publisher's packet trailer (epoch microseconds), or 0.</param>
    protected internal readonly record struct InputFrame(uint RtpTimestamp, bool IsKeyframe, long Input, long Arrival, ulong Capture);

    /// <summary>One received frame waiting in a pipeline's queue (its bytes in a pooled buffer).</summary>
    protected readonly record struct PendingFrame(byte[] Buffer, int Length, InputFrame Meta)
    {
        public uint RtpTimestamp => Meta.RtpTimestamp;

        public bool IsKeyframe => Meta.IsKeyframe;

        public long Input => Meta.Input;

        public long Arrival => Meta.Arrival;
    }

    protected abstract Task RunAsync(CancellationToken stop);

    /// <summary>Input frames received so far.</summary>
    protected long InputsReceived => Interlocked.Read(ref _inputs);

    protected void Dropped(long count = 1) => Interlocked.Add(ref _dropped, count);

    /// <summary>Waits until a timestamp of <see cref="IModelHost.Time"/>.</summary>
    protected async Task WaitUntilAsync(long due, CancellationToken stop)
    {
        var wait = Host.Time.GetElapsedTime(Host.Time.GetTimestamp(), due);
        if (wait > TimeSpan.FromMilliseconds(1))
        {
            await Task.Delay(wait, Host.Time, stop).ConfigureAwait(false);
        }
    }

    protected long After(long timestamp, TimeSpan span) => timestamp + (long)(span.TotalSeconds * Host.Time.TimestampFrequency);
}
