using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Decart.Sdk.Media.Vpx;

namespace Decart.Sdk.Media;

/// <summary>A source that encodes itself and can be told which codec to encode to, before it starts.</summary>
internal interface IBitrateControllable
{
    /// <summary>The target bitrate the encoder runs at now, kbit/s.</summary>
    int TargetBitrateKbps { get; }

    /// <summary>Changes the encoder's target from its next frame on.</summary>
    /// <param name="kbps">kbit/s (10–100,000).</param>
    void SetTargetBitrate(int kbps);
}

/// <summary>A source that encodes itself and can be told which codec to encode to, before it starts.</summary>
internal interface ICodecSelectable
{
    /// <summary>Switches the codec the frames will be encoded to; false when the codec is not one it has or encoding already began in another.</summary>
    /// <param name="codec">The codec.</param>
    /// <returns>Whether the source now produces <paramref name="codec"/>.</returns>
    bool TrySelectCodec(VideoCodec codec);
}

/// <summary>A source whose frames the SDK can flip before encoding (<c>Mirror</c>); the realtime client sets it.</summary>
public interface IMirrorableVideoSource : IVideoSource
{
    /// <summary>Flip each frame horizontally before it is encoded (never the caller's own frame or preview).</summary>
    bool Mirror { get; set; }
}

/// <summary>
/// Raw video in: push I420 frames (a camera through your capture library, a game, a decoder) and the source mirrors
/// them when asked, encodes them with VP8 (libvpx, realtime settings, a keyframe on request) and hands them to the
/// realtime client. <see cref="PushAsync"/> waits while the encoder is behind (back-pressure, two frames queued).
/// </summary>
public sealed class RawVideoSource : IMirrorableVideoSource, ISimulcastVideoSource, IAsyncDisposable, ICodecSelectable, IBitrateControllable
{
    private static readonly string[] Rids = ["q", "h", "f"];
    private readonly Channel<I420Frame> _queue = Channel.CreateBounded<I420Frame>(new BoundedChannelOptions(2) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly int _targetBitrateKbps;
    private readonly object _encoderLock = new();
    private Func<IFrameEncoder> _createEncoder;
    private int _targetKbps;
    private int _encoderKbps;
    private VideoCodec _codec;
    private readonly object _lastLock = new();
    private I420Frame? _lastSent;
    private IFrameEncoder? _encoder;
    private IFrameEncoder[]? _layerEncoders;
    private int _layerCount = 1;
    private IReadOnlyList<SimulcastLayer> _layers = [];
    private long _framesEncoded;

    /// <summary>Creates a source for frames of one size and rate.</summary>
    /// <param name="format">The frames' size and rate (use the model's: <c>new VideoFormat(model.Width, model.Height, model.Fps)</c>).</param>
    /// <param name="facing">Which way the camera faces (mirror <c>Auto</c> flips only <see cref="FacingMode.User"/>).</param>
    /// <param name="targetBitrateKbps">Encoder bitrate target.</param>
    /// <param name="codec">What to encode to: <see cref="VideoCodec.Vp8"/> (libvpx, the default) or
    /// <see cref="VideoCodec.H264"/> (Debian's <c>libopenh264-7</c>, what Decart's JS SDK 0.1.x publishes by default).
    /// The session negotiates this codec.</param>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.InvalidOptions"/> for a bad format or codec.</exception>
    public RawVideoSource(VideoFormat format, FacingMode facing = FacingMode.Unknown, int targetBitrateKbps = 1500, VideoCodec codec = VideoCodec.Vp8)
    {
        if (codec is not (VideoCodec.Vp8 or VideoCodec.H264))
        {
            throw new DecartException(DecartErrorCode.InvalidOptions, $"raw source codec {codec}: VP8 or H.264.");
        }

        if (format.Width <= 0 || format.Height <= 0 || format.Width % 2 != 0 || format.Height % 2 != 0 || format.Fps <= 0 || targetBitrateKbps <= 0)
        {
            throw new DecartException(DecartErrorCode.InvalidOptions, $"raw source format {format} must have positive even width and height and a positive fps.");
        }

        Format = format;
        Facing = facing;
        _targetBitrateKbps = targetBitrateKbps;
        _targetKbps = targetBitrateKbps;
        _encoderKbps = targetBitrateKbps;
        _codec = codec;
        _createEncoder = EncoderFor(codec);
    }

    private Func<IFrameEncoder> EncoderFor(VideoCodec codec) => () => CreateEncoder(codec, Format.Width, Format.Height, _targetBitrateKbps);

    private IFrameEncoder CreateEncoder(VideoCodec codec, int width, int height, int kbps) => codec == VideoCodec.H264
        ? new OpenH264.H264Encoder(new OpenH264.H264EncoderOptions { Width = width, Height = height, Fps = Format.Fps, TargetBitrateKbps = kbps })
        : new Vp8Encoder(new Vp8EncoderOptions { Width = width, Height = height, Fps = Format.Fps, TargetBitrateKbps = kbps });

    /// <summary>
    /// Encode each frame as this many simulcast layers (1, the default: one stream; 2: half and full size; 3: a
    /// quarter, half and full size, RIDs <c>q</c>, <c>h</c>, <c>f</c>), each with its own encoder. Width and height must
    /// be multiples of 4 (2 layers) or 8 (3 layers).
    /// </summary>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.InvalidOptions"/> for another count or a size that does not halve evenly.</exception>
    public int SimulcastLayers
    {
        get => _layerCount;
        init => ConfigureSimulcast(value);
    }

    /// <inheritdoc />
    public IReadOnlyList<SimulcastLayer> Layers => _layers;

    private IReadOnlyList<SimulcastLayer> BuildLayers()
    {
        if (_layerCount == 1)
        {
            return [];
        }

        var layers = new List<SimulcastLayer>();
        for (int i = _layerCount - 1; i >= 0; i--)
        {
            int divisor = 1 << i;
            int kbps = i switch { 0 => _targetBitrateKbps, 1 => Math.Max(100, _targetBitrateKbps / 4), _ => Math.Max(100, _targetBitrateKbps / 10) };
            layers.Add(new SimulcastLayer(Rids[3 - 1 - i], Format.Width / divisor, Format.Height / divisor, kbps));
        }

        return layers;
    }

    internal void ConfigureSimulcast(int layers)
    {
        int multiple = layers == 3 ? 8 : 4;
        if (layers is < 1 or > 3 || (layers > 1 && (Format.Width % multiple != 0 || Format.Height % multiple != 0)))
        {
            throw new DecartException(DecartErrorCode.InvalidOptions, $"{layers} simulcast layers: 1 to 3, and the format {Format} must halve evenly (width and height multiples of {multiple}).");
        }

        lock (_encoderLock)
        {
            if (_encoder is not null || _layerEncoders is not null)
            {
                throw new DecartException(DecartErrorCode.InvalidOptions, "simulcast layers are set before the source starts.");
            }

            _layerCount = layers;
            _layers = BuildLayers();
        }
    }

    /// <inheritdoc />
    int IBitrateControllable.TargetBitrateKbps => Volatile.Read(ref _targetKbps);

    /// <inheritdoc />
    void IBitrateControllable.SetTargetBitrate(int kbps)
    {
        if (kbps is < 10 or > 100_000)
        {
            throw new DecartException(DecartErrorCode.InvalidOptions, $"bitrate {kbps} kbit/s is out of range.");
        }

        Volatile.Write(ref _targetKbps, kbps); // the encode loop applies it before its next frame
    }

    /// <inheritdoc />
    bool ICodecSelectable.TrySelectCodec(VideoCodec codec)
    {
        if (codec is not (VideoCodec.Vp8 or VideoCodec.H264))
        {
            return false;
        }

        lock (_encoderLock)
        {
            if (codec == _codec)
            {
                return true;
            }

            if (_encoder is not null)
            {
                return false; // already encoding: the stream's codec cannot change under its receiver
            }

            _codec = codec;
            _createEncoder = EncoderFor(codec);
            return true;
        }
    }

    /// <inheritdoc />
    public VideoFormat Format { get; }

    /// <inheritdoc />
    public VideoCodec Codec => _codec;

    /// <inheritdoc />
    public FacingMode Facing { get; }

    /// <inheritdoc />
    public bool Mirror { get; set; }

    /// <summary>Frames encoded so far.</summary>
    public long FramesEncoded => Interlocked.Read(ref _framesEncoded);

    /// <summary>Queues a frame for encoding; waits while two are already queued. The source takes ownership of the frame (it is disposed after encoding).</summary>
    /// <param name="frame">An I420 frame of <see cref="Format"/>'s size with its capture <see cref="I420Frame.Timestamp"/>.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes when the frame is queued.</returns>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.InvalidInput"/> for a frame of another size.</exception>
    public async ValueTask PushAsync(I420Frame frame, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(frame);
        if (frame.Width != Format.Width || frame.Height != Format.Height)
        {
            frame.Dispose();
            throw new DecartException(DecartErrorCode.InvalidInput, $"frame is {frame.Width}x{frame.Height}, the source is {Format.Width}x{Format.Height}.");
        }

        try
        {
            await _queue.Writer.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            frame.Dispose();
            throw;
        }
    }

    /// <summary>Ends the stream: <see cref="ReadFramesAsync"/> finishes after the queued frames.</summary>
    public void Complete() => _queue.Writer.TryComplete();

    /// <summary>
    /// The encoded frames while <paramref name="produce"/> pushes raw ones on a task of its own (a synthetic camera, an
    /// ffmpeg pipe); the producer is stopped and awaited when the reader stops.
    /// </summary>
    internal async IAsyncEnumerable<EncodedVideoFrame> ReadWhileProducingAsync(Func<CancellationToken, Task>? produce, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var producer = produce is null ? Task.CompletedTask : Task.Run(() => produce(stop.Token), CancellationToken.None);
        try
        {
            await foreach (var frame in ReadFramesAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return frame;
            }
        }
        finally
        {
            stop.Cancel();
            try
            {
                await producer.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    /// <summary>A copy of the last frame as it was encoded (mirrored if mirroring is on), for snapshots; null before the first.</summary>
    /// <returns>A frame the caller disposes.</returns>
    public I420Frame? CopyLastSentFrame()
    {
        lock (_lastLock)
        {
            return _lastSent?.Clone();
        }
    }

    /// <inheritdoc />
    public IAsyncEnumerable<EncodedVideoFrame> ReadFramesAsync(CancellationToken cancellationToken) =>
        _layerCount == 1 ? ReadOneStreamAsync(cancellationToken) : ReadLayersAsync(cancellationToken);

    private async IAsyncEnumerable<EncodedVideoFrame> ReadOneStreamAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        IFrameEncoder encoder;
        lock (_encoderLock)
        {
            encoder = _encoder ??= _createEncoder();
        }

        var output = new byte[encoder.MaxEncodedSize];
        await foreach (var frame in _queue.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            int n;
            bool key;
            var timestamp = frame.Timestamp;
            var sent = frame;
            try
            {
                sent = MirrorIfAsked(frame);

                int target = Volatile.Read(ref _targetKbps);
                if (target != _encoderKbps)
                {
                    int running = _encoderKbps;
                    try
                    {
                        encoder.SetTargetBitrate(target);
                        _encoderKbps = target;
                    }
                    catch (DecartException)
                    {
                        // An encoder that refuses the rate keeps its own, and the frames keep coming.
                        Volatile.Write(ref _targetKbps, running);
                    }
                }

                n = encoder.Encode(sent, output, out key);
            }
            catch
            {
                sent.Dispose();
                frame.Dispose();
                throw;
            }

            KeepAsLastSent(sent);
            if (n > 0)
            {
                Interlocked.Increment(ref _framesEncoded);
                yield return new EncodedVideoFrame(output.AsMemory(0, n), timestamp, key, Codec);
            }
        }
    }

    /// <summary>The frame as it is sent: a mirrored copy when <see cref="Mirror"/> is on (the caller's frame goes back to the pool), else itself.</summary>
    private I420Frame MirrorIfAsked(I420Frame frame)
    {
        if (!Mirror)
        {
            return frame;
        }

        var mirrored = I420Frame.Rent(frame.Width, frame.Height);
        FrameMirror.MirrorHorizontal(frame, mirrored);
        frame.Dispose();
        return mirrored;
    }

    /// <summary>The encoded frame itself becomes the snapshot (no copy); the previous one goes back to the pool.</summary>
    private void KeepAsLastSent(I420Frame sent)
    {
        I420Frame? previous;
        lock (_lastLock)
        {
            previous = _lastSent;
            _lastSent = sent;
        }

        previous?.Dispose();
    }

    /// <summary>Simulcast: each frame mirrored once, halved for the smaller layers, and encoded by each layer's encoder.</summary>
    private async IAsyncEnumerable<EncodedVideoFrame> ReadLayersAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var layers = Layers;
        IFrameEncoder[] encoders;
        lock (_encoderLock)
        {
            if (_layerEncoders is null)
            {
                var made = new List<IFrameEncoder>();
                try
                {
                    foreach (var layer in layers)
                    {
                        made.Add(CreateEncoder(_codec, layer.Width, layer.Height, layer.BitrateKbps));
                    }
                }
                catch
                {
                    made.ForEach(e => e.Dispose()); // a layer whose encoder could not be made: none is kept
                    throw;
                }

                _layerEncoders = [.. made];
            }

            encoders = _layerEncoders;
        }

        var outputs = encoders.Select(e => new byte[e.MaxEncodedSize]).ToArray();
        var scaled = new I420Frame?[layers.Count];
        var lengths = new (int Length, bool Key)[layers.Count];
        try
        {
            await foreach (var frame in _queue.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                var timestamp = frame.Timestamp;
                var sent = frame;
                try
                {
                    sent = MirrorIfAsked(frame);

                    // The layers' rates follow the top layer's target in proportion.
                    int target = Volatile.Read(ref _targetKbps);
                    if (target != _encoderKbps)
                    {
                        for (int i = 0; i < encoders.Length; i++)
                        {
                            try
                            {
                                encoders[i].SetTargetBitrate((int)Math.Clamp((long)layers[i].BitrateKbps * target / _targetBitrateKbps, 30, 100_000));
                            }
                            catch (DecartException)
                            {
                                // An encoder that refuses the rate keeps its own, and the frames keep coming.
                            }
                        }

                        _encoderKbps = target;
                    }

                    // Largest first: each smaller layer is half of the one above it.
                    var above = sent;
                    for (int i = layers.Count - 1; i >= 0; i--)
                    {
                        var picture = above;
                        if (i < layers.Count - 1)
                        {
                            scaled[i] ??= I420Frame.Rent(layers[i].Width, layers[i].Height);
                            FrameScaler.Halve(above, scaled[i]!);
                            picture = scaled[i]!;
                        }

                        lengths[i].Length = encoders[i].Encode(picture, outputs[i], out lengths[i].Key);
                        above = picture;
                    }
                }
                catch
                {
                    sent.Dispose();
                    frame.Dispose();
                    throw;
                }

                KeepAsLastSent(sent);
                Interlocked.Increment(ref _framesEncoded);
                for (int i = 0; i < layers.Count; i++)
                {
                    if (lengths[i].Length > 0)
                    {
                        yield return new EncodedVideoFrame(outputs[i].AsMemory(0, lengths[i].Length), timestamp, lengths[i].Key, Codec) { Layer = layers[i].Rid };
                    }
                }
            }
        }
        finally
        {
            foreach (var picture in scaled)
            {
                picture?.Dispose();
            }
        }
    }

    /// <inheritdoc />
    public void RequestKeyframe()
    {
        // Before the first frame there is nothing to ask: it is a keyframe anyway.
        Volatile.Read(ref _encoder)?.RequestKeyframe();
        foreach (var encoder in Volatile.Read(ref _layerEncoders) ?? [])
        {
            encoder.RequestKeyframe();
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        while (_queue.Reader.TryRead(out var left))
        {
            left.Dispose();
        }

        _encoder?.Dispose();
        foreach (var encoder in _layerEncoders ?? [])
        {
            encoder.Dispose();
        }

        lock (_lastLock)
        {
            _lastSent?.Dispose();
            _lastSent = null;
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public override string ToString() => $"RawVideoSource {{ {Format}, {Codec}, Facing = {Facing}, Mirror = {Mirror} }}";
}

/// <summary>
/// A synthetic camera: the SDK's moving test pattern with a visible frame counter, at a fixed size and rate, encoded
/// like a <see cref="RawVideoSource"/>. The counter can be read back from decoded output (<see cref="TestPattern.ReadCounter"/>)
/// to measure glass-to-glass latency.
/// </summary>
public sealed class SyntheticVideoSource : IMirrorableVideoSource, ISimulcastVideoSource, IAsyncDisposable, ICodecSelectable, IBitrateControllable
{
    private readonly RawVideoSource _raw;
    private readonly TimeProvider _time;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<long, long> _sentAt = new();

    /// <summary>Creates a synthetic camera.</summary>
    /// <param name="format">Size and rate (the model's).</param>
    /// <param name="facing">Pretend facing (for mirror <c>Auto</c>).</param>
    /// <param name="timeProvider">Clock for pacing (default system).</param>
    /// <param name="codec">VP8 (default) or H.264 (OpenH264), as for <see cref="RawVideoSource"/>.</param>
    public SyntheticVideoSource(VideoFormat format, FacingMode facing = FacingMode.User, TimeProvider? timeProvider = null, VideoCodec codec = VideoCodec.Vp8)
    {
        _raw = new RawVideoSource(format, facing, codec: codec);
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <inheritdoc />
    public VideoFormat Format => _raw.Format;

    /// <summary>Encode as this many simulcast layers (see <see cref="RawVideoSource.SimulcastLayers"/>).</summary>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.InvalidOptions"/> as for <see cref="RawVideoSource.SimulcastLayers"/>.</exception>
    public int SimulcastLayers
    {
        get => _raw.SimulcastLayers;
        init => _raw.ConfigureSimulcast(value);
    }

    /// <inheritdoc />
    public IReadOnlyList<SimulcastLayer> Layers => _raw.Layers;

    /// <inheritdoc />
    public VideoCodec Codec => _raw.Codec;

    /// <inheritdoc />
    bool ICodecSelectable.TrySelectCodec(VideoCodec codec) => ((ICodecSelectable)_raw).TrySelectCodec(codec);

    /// <inheritdoc />
    int IBitrateControllable.TargetBitrateKbps => ((IBitrateControllable)_raw).TargetBitrateKbps;

    /// <inheritdoc />
    void IBitrateControllable.SetTargetBitrate(int kbps) => ((IBitrateControllable)_raw).SetTargetBitrate(kbps);

    /// <inheritdoc />
    public FacingMode Facing => _raw.Facing;

    /// <inheritdoc />
    public bool Mirror
    {
        get => _raw.Mirror;
        set => _raw.Mirror = value;
    }

    /// <summary>Frames rendered so far.</summary>
    public long FramesRendered => Interlocked.Read(ref _rendered);

    private long _rendered;

    /// <summary>When frame <paramref name="counter"/> was handed to the encoder (a <see cref="TimeProvider"/> timestamp), for latency.</summary>
    /// <param name="counter">The frame counter drawn in the picture.</param>
    /// <param name="timestamp">The timestamp.</param>
    /// <returns>Whether it is known (recent frames only).</returns>
    public bool TryGetSendTime(long counter, out long timestamp) => _sentAt.TryGetValue(counter, out timestamp);

    /// <summary>A copy of the last frame as sent, for snapshots.</summary>
    /// <returns>A frame the caller disposes, or null.</returns>
    public I420Frame? CopyLastSentFrame() => _raw.CopyLastSentFrame();

    /// <inheritdoc />
    public IAsyncEnumerable<EncodedVideoFrame> ReadFramesAsync(CancellationToken cancellationToken) => _raw.ReadWhileProducingAsync(ProduceAsync, cancellationToken);

    /// <inheritdoc />
    public void RequestKeyframe() => _raw.RequestKeyframe();

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _raw.DisposeAsync();

    private async Task ProduceAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1.0 / Format.Fps), _time);
        long index = Interlocked.Read(ref _rendered);
        while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
        {
            var frame = I420Frame.Rent(Format.Width, Format.Height);
            TestPattern.Render(frame, index);
            frame.Timestamp = TimeSpan.FromSeconds(index / (double)Format.Fps);
            _sentAt[index] = _time.GetTimestamp();
            _sentAt.TryRemove(index - (Format.Fps * 10), out _);
            await _raw.PushAsync(frame, cancellationToken).ConfigureAwait(false);
            index = Interlocked.Increment(ref _rendered);
        }
    }
}
