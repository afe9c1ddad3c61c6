namespace Decart.Benchmarks.Infrastructure;

/// <summary>Frames of the repository's clips, read in a benchmark's setup (not measured).</summary>
internal static class Clips
{
    /// <summary>Every frame of an IVF clip of assets/clips, read with the SDK's own IVF reader.</summary>
    /// <param name="name">The clip's file name.</param>
    /// <returns>The frames in order.</returns>
    public static List<byte[]> IvfFrames(string name)
    {
        using var reader = Decart.Sdk.Media.IvfReader.OpenAsync(Decart.Testing.RepositoryPaths.Clip(name)).GetAwaiter().GetResult();
        var frames = new List<byte[]>();
        while (reader.ReadFrameAsync().AsTask().GetAwaiter().GetResult() is { } frame)
        {
            frames.Add(frame.Data.ToArray());
        }

        return frames;
    }

    /// <summary>The payload sizes the stack's VP8 packetizer cuts a frame into (the max payload PeerConnection uses).</summary>
    /// <param name="frame">The encoded frame.</param>
    /// <returns>One size per RTP packet, in order.</returns>
    public static int[] Vp8PayloadSizes(byte[] frame)
    {
        var sizes = new List<int>();
        var scratch = new byte[1500];
        var packetizer = new Decart.Rtc.Codecs.Vp8Packetizer(frame, 1100, 0);
        while (packetizer.TryWriteNext(scratch, out int n, out _))
        {
            sizes.Add(n);
        }

        return [.. sizes];
    }
}
