namespace Decart.Rtc.Codecs;

/// <summary>
/// A video payload format this stack speaks — one object per format, compared by reference: its SDP name, MIME type,
/// clock rate and the <c>a=fmtp</c> we offer, and the few things that differ by codec (reading a keyframe's size).
/// Negotiation, packetization, assembly and the layers above ask it instead of comparing names.
/// </summary>
public sealed class RtpCodec
{
    /// <summary>VP8 (RFC 7741 payloads).</summary>
    public static readonly RtpCodec Vp8 = new("VP8", "x-google-min-bitrate=300;x-google-start-bitrate=600");

    /// <summary>H.264 (RFC 6184 payloads, packetization mode 1, constrained baseline).</summary>
    public static readonly RtpCodec H264 = new("H264", "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f");

    private RtpCodec(string name, string offerParameters)
    {
        Name = name;
        OfferParameters = offerParameters;
    }

    private static readonly RtpCodec[] Known = [Vp8, H264];

    /// <summary>Every format, in our default order of preference.</summary>
    public static IReadOnlyList<RtpCodec> All => Known;

    /// <summary>The <c>a=rtpmap</c> encoding name, upper case (<c>VP8</c>, <c>H264</c>).</summary>
    public string Name { get; }

    /// <summary>The MIME type (<c>video/VP8</c>), as LiveKit's signalling and browsers' stats name it.</summary>
    public string MimeType => "video/" + Name;

    /// <summary>The RTP clock rate.</summary>
    public int ClockRate => 90_000;

    /// <summary>The <c>a=fmtp</c> parameters we offer.</summary>
    public string OfferParameters { get; }

    /// <summary>Finds a format by its SDP or MIME name, case-insensitively (<c>vp8</c>, <c>video/H264</c>).</summary>
    /// <param name="name">The name.</param>
    /// <param name="codec">The format, when known.</param>
    /// <returns>Whether it is one we speak.</returns>
    public static bool TryParse(string? name, out RtpCodec codec)
    {
        codec = null!;
        if (name is null)
        {
            return false;
        }

        var bare = name.StartsWith("video/", StringComparison.OrdinalIgnoreCase) ? name.AsSpan(6) : name.AsSpan();
        foreach (var candidate in Known) // an array: no enumerator allocated
        {
            if (bare.Equals(candidate.Name, StringComparison.OrdinalIgnoreCase))
            {
                codec = candidate;
                return true;
            }
        }

        return false;
    }

    /// <summary>Finds a format by name, or fails clearly.</summary>
    /// <param name="name">The name.</param>
    /// <returns>The format.</returns>
    /// <exception cref="ArgumentException">When it is not one we speak.</exception>
    public static RtpCodec Parse(string name) =>
        TryParse(name, out var codec) ? codec : throw new ArgumentException($"'{(name?.Length > 32 ? name[..32] : name)}' is not a video codec this stack speaks (VP8, H264)", nameof(name));

    /// <summary>Reads the picture size from a keyframe (a VP8 keyframe header, or an H.264 access unit's SPS).</summary>
    /// <param name="frame">The encoded frame.</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    /// <returns>Whether the frame is a keyframe whose size could be read.</returns>
    public bool TryReadKeyframeSize(ReadOnlySpan<byte> frame, out int width, out int height) =>
        this == H264 ? H264Nal.TryReadSize(frame, out width, out height) : Vp8Bitstream.TryReadKeyframeSize(frame, out width, out height);

    /// <inheritdoc />
    public override string ToString() => Name;
}
