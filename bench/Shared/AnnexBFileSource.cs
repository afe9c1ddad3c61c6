using System.Runtime.CompilerServices;
using Decart.Rtc.Codecs;
using Decart.Sdk.Media;

namespace Decart.Bench;

/// <summary>
/// An H.264 Annex B clip (an <c>.h264</c> file) played as a camera would send it: its access units at a fixed frame
/// rate, looped. Read into memory once; a keyframe comes where the clip has one.
/// </summary>
internal sealed class AnnexBFileSource : IVideoSource
{
    private readonly List<byte[]> _units;

    private AnnexBFileSource(List<byte[]> units, VideoFormat format)
    {
        _units = units;
        Format = format;
    }

    public VideoFormat Format { get; }

    public VideoCodec Codec => VideoCodec.H264;

    public FacingMode Facing => FacingMode.Unknown;

    /// <summary>Reads the clip; <paramref name="width"/> and <paramref name="height"/> are what it was encoded at.</summary>
    public static async Task<AnnexBFileSource> OpenAsync(string path, int width, int height, int fps)
    {
        var units = H264Nal.SplitAccessUnits(await File.ReadAllBytesAsync(path));
        if (units.Count == 0)
        {
            throw new InvalidDataException($"{path}: no H.264 access units");
        }

        return new AnnexBFileSource(units, new VideoFormat(width, height, fps));
    }

    public async IAsyncEnumerable<EncodedVideoFrame> ReadFramesAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        for (long index = 0; !cancellationToken.IsCancellationRequested; index++)
        {
            var due = TimeSpan.FromTicks(index * TimeSpan.TicksPerSecond / Format.Fps);
            var wait = due - System.Diagnostics.Stopwatch.GetElapsedTime(start);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, cancellationToken);
            }

            var unit = _units[(int)(index % _units.Count)];
            yield return new EncodedVideoFrame(unit, due, H264Nal.IsKeyframe(unit), VideoCodec.H264);
        }
    }

    public void RequestKeyframe()
    {
    }
}
