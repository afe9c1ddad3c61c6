using System.Runtime.CompilerServices;

namespace Decart.Sdk.Media.Ffmpeg;

/// <summary>How a picture of another shape fits the model's frame.</summary>
public enum FfmpegFit
{
    /// <summary>Scaled to fit inside and padded with black bars (nothing is cut off). The default.</summary>
    Pad,

    /// <summary>Scaled to cover and cropped at the centre (no bars; the edges are cut off).</summary>
    Crop,

    /// <summary>Scaled to the exact size (the picture is distorted when the shapes differ).</summary>
    Stretch,
}

/// <summary>Options of <see cref="FfmpegVideoSource"/>.</summary>
public sealed record FfmpegSourceOptions
{
    /// <summary>ffmpeg's input format (<c>-f</c>): <c>v4l2</c> for a camera, <c>lavfi</c> for a test source; null lets ffmpeg guess (files, URLs).</summary>
    public string? InputFormat { get; init; }

    /// <summary>More input options, placed before <c>-i</c> (e.g. <c>["-video_size", "1280x720"]</c> for a camera, <c>["-rtsp_transport", "tcp"]</c>).</summary>
    public IReadOnlyList<string> InputArguments { get; init; } = [];

    /// <summary>How a picture of another shape fits the frame. Default <see cref="FfmpegFit.Pad"/>.</summary>
    public FfmpegFit Fit { get; init; } = FfmpegFit.Pad;

    /// <summary>Start again at the end (files only). Default false: the stream ends with the input.</summary>
    public bool Loop { get; init; }

    /// <summary>
    /// Deliver frames at the format's rate from the moment the session starts reading, as a camera would. Null (the
    /// default): yes for files and <c>lavfi</c>, which ffmpeg decodes faster than real time; no for cameras and network
    /// streams, which come at their own pace.
    /// </summary>
    public bool? Realtime { get; init; }

    /// <summary>Encode as this many simulcast layers, 1–3 (see <see cref="RawVideoSource.SimulcastLayers"/>). Default 1.</summary>
    public int SimulcastLayers { get; init; } = 1;

    /// <summary>Which way the camera faces (for <c>Mirror = Auto</c>). Default <see cref="FacingMode.Unknown"/>: not mirrored by Auto.</summary>
    public FacingMode Facing { get; init; } = FacingMode.Unknown;

    /// <summary>What the frames are encoded to for the session. Default VP8.</summary>
    public VideoCodec Codec { get; init; } = VideoCodec.Vp8;

    /// <summary>Encoder bitrate target, kbit/s. Default 1,500.</summary>
    public int TargetBitrateKbps { get; init; } = 1500;

    /// <summary>The ffmpeg program; null finds <c>ffmpeg</c> on <c>PATH</c>.</summary>
    public string? FfmpegPath { get; init; }
}

/// <summary>
/// A video source from anything FFmpeg reads — a file (mp4, webm, mov…), a V4L2 camera (<c>/dev/video0</c> with
/// <c>InputFormat = "v4l2"</c>), an RTSP or HTTP stream, a <c>lavfi</c> test source — decoded by Debian's <c>ffmpeg</c>
/// (run as a process, frames on a pipe) to I420 at exactly the model's width, height and fps, then mirrored when the
/// session asks and encoded like <see cref="RawVideoSource"/>.
/// </summary>
/// <remarks>
/// <see cref="OpenAsync"/> reads the first frame before it returns, so an input ffmpeg cannot read fails there, before
/// anything connects, with ffmpeg's own words. Memory is bounded: at most two decoded frames wait for the encoder, and
/// ffmpeg waits on the pipe when the session is slower than the input.
/// </remarks>
public sealed class FfmpegVideoSource : IMirrorableVideoSource, ISimulcastVideoSource, IAsyncDisposable, ICodecSelectable, IBitrateControllable
{
    private readonly RawVideoSource _raw;
    private readonly FfmpegProcess _ffmpeg;
    private readonly string _input;
    private readonly bool _paced;
    private readonly SemaphoreSlim _reader = new(1, 1);
    private I420Frame? _first;
    private I420Frame? _partial;   // a frame being read from the pipe; kept when a reader stops halfway through it
    private int _filled;
    private long _framesRead;
    private volatile bool _ended;

    private FfmpegVideoSource(RawVideoSource raw, FfmpegProcess ffmpeg, string input, I420Frame first, bool paced)
    {
        _raw = raw;
        _ffmpeg = ffmpeg;
        _input = input;
        _first = first;
        _paced = paced;
        _framesRead = 1;
    }

    /// <summary>Starts ffmpeg on an input and reads its first frame.</summary>
    /// <param name="input">What ffmpeg reads (<c>-i</c>): a path, a device, a URL, or a lavfi graph such as <c>testsrc2=size=640x360:rate=30</c>.</param>
    /// <param name="format">The frames to make: use the model's (<c>new VideoFormat(model.Width, model.Height, model.Fps)</c>).</param>
    /// <param name="options">Fit, loop, pacing, input format, codec; null for the defaults.</param>
    /// <param name="cancellationToken">Stops waiting for the first frame (the process is then stopped).</param>
    /// <returns>The source, with its first frame read.</returns>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.InvalidOptions"/> when ffmpeg is missing (the message
    /// names the package) or the format is invalid; <see cref="DecartErrorCode.InvalidInput"/> when ffmpeg cannot read the
    /// input (with its error).</exception>
    public static async Task<FfmpegVideoSource> OpenAsync(string input, VideoFormat format, FfmpegSourceOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(input);
        options ??= new FfmpegSourceOptions();
        var raw = new RawVideoSource(format, options.Facing, options.TargetBitrateKbps, options.Codec);   // checks the format
        if (options.SimulcastLayers != 1)
        {
            try
            {
                raw.ConfigureSimulcast(options.SimulcastLayers);
            }
            catch
            {
                await raw.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }

        string program;
        try
        {
            program = FfmpegProcess.Locate(options.FfmpegPath);
        }
        catch
        {
            await raw.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        var ffmpeg = FfmpegProcess.Start(program, Arguments(input, format, options), writesInput: false);   // stdout: raw I420 at the format
        I420Frame? first = null;
        try
        {
            first = I420Frame.Rent(format.Width, format.Height);
            int read = await ffmpeg.Output.ReadAtLeastAsync(first.Memory, first.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            if (read < first.Length)
            {
                await ffmpeg.WaitForExitAsync(TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false);
                throw new DecartException(DecartErrorCode.InvalidInput, $"ffmpeg could not read '{Describe(input)}': {ffmpeg.LastError}");
            }

            first.Timestamp = TimeSpan.Zero;
            return new FfmpegVideoSource(raw, ffmpeg, input, first, options.Realtime ?? !IsLive(input, options));
        }
        catch
        {
            first?.Dispose();
            await ffmpeg.DisposeAsync().ConfigureAwait(false);
            await raw.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <inheritdoc />
    public VideoFormat Format => _raw.Format;

    /// <inheritdoc />
    public VideoCodec Codec => _raw.Codec;

    /// <inheritdoc />
    public FacingMode Facing => _raw.Facing;

    /// <inheritdoc />
    public bool Mirror
    {
        get => _raw.Mirror;
        set => _raw.Mirror = value;
    }

    /// <summary>The simulcast layers it encodes (<see cref="FfmpegSourceOptions.SimulcastLayers"/>).</summary>
    public int SimulcastLayers => _raw.SimulcastLayers;

    /// <inheritdoc />
    public IReadOnlyList<SimulcastLayer> Layers => _raw.Layers;

    /// <summary>Frames ffmpeg delivered so far.</summary>
    public long FramesRead => Interlocked.Read(ref _framesRead);

    /// <summary>Why the input ended early (ffmpeg's last error), or null while it runs or when it ended cleanly.</summary>
    public string? Error { get; private set; }

    /// <inheritdoc />
    bool ICodecSelectable.TrySelectCodec(VideoCodec codec) => ((ICodecSelectable)_raw).TrySelectCodec(codec);

    /// <inheritdoc />
    int IBitrateControllable.TargetBitrateKbps => ((IBitrateControllable)_raw).TargetBitrateKbps;

    /// <inheritdoc />
    void IBitrateControllable.SetTargetBitrate(int kbps) => ((IBitrateControllable)_raw).SetTargetBitrate(kbps);

    /// <summary>A copy of the last frame as sent (mirrored if mirroring is on), for snapshots.</summary>
    /// <returns>A frame the caller disposes, or null.</returns>
    public I420Frame? CopyLastSentFrame() => _raw.CopyLastSentFrame();

    /// <inheritdoc />
    /// <remarks>
    /// One reader at a time, any number of times in turn (a session reads it, <c>ReplaceSourceAsync</c> moves to another
    /// camera and back): a reader that stops keeps the input where it was, even halfway through a frame.
    /// </remarks>
    /// <exception cref="InvalidOperationException">Another reader is reading it now (a source feeds one session at a time).</exception>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.InvalidInput"/>: ffmpeg stopped with an error (a camera
    /// or stream that went away), with its words.</exception>
    public async IAsyncEnumerable<EncodedVideoFrame> ReadFramesAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (!_reader.Wait(0, CancellationToken.None))
        {
            throw new InvalidOperationException("This FfmpegVideoSource is being read by another session; a source feeds one session at a time.");
        }

        try
        {
            await foreach (var frame in _raw.ReadWhileProducingAsync(_ended ? null : ProduceAsync, cancellationToken).ConfigureAwait(false))
            {
                yield return frame;
            }

            if (Error is { } error)
            {
                throw new DecartException(DecartErrorCode.InvalidInput, error);
            }
        }
        finally
        {
            _reader.Release();
        }
    }

    /// <inheritdoc />
    public void RequestKeyframe() => _raw.RequestKeyframe();

    /// <summary>Stops ffmpeg and releases the frames.</summary>
    /// <returns>When the process is gone.</returns>
    public async ValueTask DisposeAsync()
    {
        await _ffmpeg.DisposeAsync().ConfigureAwait(false);
        Interlocked.Exchange(ref _first, null)?.Dispose();
        Interlocked.Exchange(ref _partial, null)?.Dispose();
        await _raw.DisposeAsync().ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override string ToString() => $"FfmpegVideoSource {{ {Describe(_input)}, {Format}, {Codec}, Mirror = {Mirror} }}";

    /// <summary>
    /// Moves frames from ffmpeg's pipe to the encoder until the input ends or the reader stops. Paced inputs (files,
    /// lavfi) are released at the format's rate from the moment this reader started, so a session that connected
    /// late gets a camera's steady stream, not the backlog at once.
    /// </summary>
    private async Task ProduceAsync(CancellationToken cancellationToken)
    {
        var format = Format;
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        long released = 0;
        try
        {
            while (true)
            {
                var frame = Interlocked.Exchange(ref _first, null) ?? await ReadFrameAsync(format, cancellationToken).ConfigureAwait(false);
                if (frame is null)
                {
                    break;
                }

                if (_paced)
                {
                    var due = TimeSpan.FromSeconds(released / (double)format.Fps) - System.Diagnostics.Stopwatch.GetElapsedTime(start);
                    if (due > TimeSpan.Zero)
                    {
                        try
                        {
                            await Task.Delay(due, cancellationToken).ConfigureAwait(false);
                        }
                        catch (OperationCanceledException)
                        {
                            Interlocked.CompareExchange(ref _first, frame, null)?.Dispose();   // the next reader starts with it
                            throw;
                        }
                    }
                }

                released++;
                await _raw.PushAsync(frame, cancellationToken).ConfigureAwait(false);
            }

            // The input ended: the stream ends with it (and says why when ffmpeg failed).
            _ended = true;
            if (await _ffmpeg.WaitForExitAsync(TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false) && _ffmpeg.ExitCode != 0)
            {
                Error = $"ffmpeg stopped reading '{Describe(_input)}' (exit {_ffmpeg.ExitCode}): {_ffmpeg.LastError}";
            }

            _raw.Complete();
        }
        catch (IOException ex)
        {
            _ended = true;
            Error = $"the pipe from ffmpeg broke: {ex.Message}";
            _raw.Complete();
        }
    }

    /// <summary>
    /// The next whole frame from the pipe, or null at its end. A frame read halfway when the reader stops is kept
    /// (<c>_partial</c>, <c>_filled</c>) and finished by the next reader, so frames never shift.
    /// </summary>
    private async Task<I420Frame?> ReadFrameAsync(VideoFormat format, CancellationToken cancellationToken)
    {
        var frame = _partial ??= I420Frame.Rent(format.Width, format.Height);
        while (_filled < frame.Length)
        {
            int n = await _ffmpeg.Output.ReadAsync(frame.Memory[_filled..], cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                return null;
            }

            _filled += n;
        }

        _partial = null;
        _filled = 0;
        long index = Interlocked.Increment(ref _framesRead) - 1;
        frame.Timestamp = TimeSpan.FromSeconds(index / (double)format.Fps);
        return frame;
    }

    private static bool IsLive(string input, FfmpegSourceOptions options) =>
        options.InputFormat is "v4l2" or "video4linux2" or "avfoundation" or "dshow"
        || input.StartsWith("/dev/", StringComparison.Ordinal)
        || input.Contains("://", StringComparison.Ordinal);

    private static List<string> Arguments(string input, FfmpegSourceOptions options)
    {
        var args = new List<string>();

        if (options.Loop)
        {
            args.AddRange(["-stream_loop", "-1"]);
        }

        if (options.InputFormat is { } inputFormat)
        {
            args.AddRange(["-f", inputFormat]);
        }

        args.AddRange(options.InputArguments);
        args.AddRange(["-i", input]);
        return args;
    }

    private static List<string> Arguments(string input, VideoFormat format, FfmpegSourceOptions options)
    {
        var args = Arguments(input, options);
        string w = FfmpegProcess.Number(format.Width), h = FfmpegProcess.Number(format.Height);
        string fit = options.Fit switch
        {
            FfmpegFit.Crop => $"scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h}",
            FfmpegFit.Stretch => $"scale={w}:{h}",
            _ => $"scale={w}:{h}:force_original_aspect_ratio=decrease,pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:black",
        };
        args.AddRange(["-an", "-sn", "-vf", $"{fit},setsar=1,fps={FfmpegProcess.Number(format.Fps)},format=yuv420p"]);
        args.AddRange(["-f", "rawvideo", "-pix_fmt", "yuv420p", "pipe:1"]);
        return args;
    }

    /// <summary>The input as it may be printed: a URL's user information (a password) is never shown.</summary>
    private static string Describe(string input) => FfmpegProcess.Redact(input);
}
