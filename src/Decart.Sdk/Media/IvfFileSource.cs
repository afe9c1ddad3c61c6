using System.Runtime.CompilerServices;

namespace Decart.Sdk.Media;

/// <summary>
/// An <see cref="IVideoSource"/> that plays a VP8 IVF clip at a fixed frame rate (the model's), looping it,
/// with timestamps that keep increasing across loops. Keyframe requests cannot be honoured mid-clip
/// (the clip is pre-encoded); the next loop starts on the clip's keyframe.
/// </summary>
public sealed class IvfFileSource : IVideoSource, IAsyncDisposable
{
    private readonly IvfReader _reader;
    private readonly TimeProvider _time;

    private IvfFileSource(IvfReader reader, int fps, bool loop, TimeProvider time)
    {
        _reader = reader;
        _time = time;
        Loop = loop;
        Format = new VideoFormat(reader.Header.Width, reader.Header.Height, fps);
    }

    /// <inheritdoc />
    public VideoFormat Format { get; }

    /// <inheritdoc />
    public VideoCodec Codec => VideoCodec.Vp8;

    /// <inheritdoc />
    public FacingMode Facing { get; init; } = FacingMode.Unknown;

    /// <summary>Whether the clip restarts at its end.</summary>
    public bool Loop { get; }

    /// <summary>Frames handed out so far.</summary>
    public long FramesRead { get; private set; }

    /// <summary>Opens a VP8 IVF clip.</summary>
    /// <param name="path">The file.</param>
    /// <param name="fps">Playback rate; usually the model's <c>Fps</c>. Default: the file's own rate.</param>
    /// <param name="loop">Whether to loop. Default true.</param>
    /// <param name="timeProvider">Clock for pacing (tests pass a fake one).</param>
    /// <param name="cancellationToken">Cancels opening.</param>
    /// <returns>The source; dispose it to close the file.</returns>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.InvalidInput"/> when the file is not a VP8 IVF clip.</exception>
    public static async Task<IvfFileSource> OpenAsync(string path, int? fps = null, bool loop = true, TimeProvider? timeProvider = null, CancellationToken cancellationToken = default)
    {
        if (!File.Exists(path))
        {
            throw new DecartException(DecartErrorCode.InvalidInput, $"video clip '{path}' does not exist.");
        }

        var reader = await IvfReader.OpenAsync(path, cancellationToken).ConfigureAwait(false);
        if (reader.Header.FourCc != "VP80")
        {
            await reader.DisposeAsync().ConfigureAwait(false);
            throw new DecartException(DecartErrorCode.InvalidInput, $"video clip '{Path.GetFileName(path)}' is {reader.Header.FourCc}, not VP8.");
        }

        int rate = fps ?? Math.Max(1, reader.Header.TimebaseDenominator / Math.Max(1, reader.Header.TimebaseNumerator));
        if (rate is < 1 or > 240)
        {
            await reader.DisposeAsync().ConfigureAwait(false);
            throw new DecartException(DecartErrorCode.InvalidInput, $"playback rate {rate} fps is out of range.");
        }

        return new IvfFileSource(reader, rate, loop, timeProvider ?? TimeProvider.System);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<EncodedVideoFrame> ReadFramesAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        long start = _time.GetTimestamp();
        long index = 0;
        bool first = true;
        while (!cancellationToken.IsCancellationRequested)
        {
            var frame = await _reader.ReadFrameAsync(cancellationToken).ConfigureAwait(false);
            if (frame is null)
            {
                if (!Loop)
                {
                    yield break;
                }

                _reader.Rewind();
                first = true;
                continue;
            }

            var due = TimeSpan.FromTicks(index * TimeSpan.TicksPerSecond / Format.Fps);
            var wait = due - _time.GetElapsedTime(start);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
            }

            var data = frame.Value.Data;
            bool key = data.Length > 0 && (data.Span[0] & 1) == 0;
            yield return new EncodedVideoFrame(data, due, key || first, VideoCodec.Vp8);
            first = false;
            index++;
            FramesRead++;
        }
    }

    /// <inheritdoc />
    public void RequestKeyframe()
    {
        // A pre-encoded clip has keyframes where it has them.
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _reader.DisposeAsync();
}
