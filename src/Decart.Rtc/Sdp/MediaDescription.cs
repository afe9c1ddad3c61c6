using System.Globalization;
using System.Text;

namespace Decart.Rtc.Sdp;

/// <summary>Media direction.</summary>
public enum MediaDirection
{
    /// <summary>Send and receive.</summary>
    SendRecv,

    /// <summary>Send only.</summary>
    SendOnly,

    /// <summary>Receive only.</summary>
    RecvOnly,

    /// <summary>Neither.</summary>
    Inactive,
}

/// <summary>A codec of a media section: <c>a=rtpmap</c> with its <c>a=fmtp</c> and <c>a=rtcp-fb</c> lines.</summary>
/// <param name="PayloadType">Payload type.</param>
/// <param name="Name">Encoding name, e.g. <c>VP8</c>, <c>H264</c>, <c>rtx</c>.</param>
/// <param name="ClockRate">Clock rate.</param>
/// <param name="Parameters">The fmtp value, or null.</param>
/// <param name="Feedback">The rtcp-fb values.</param>
public sealed record SdpCodec(int PayloadType, string Name, int ClockRate, string? Parameters, IReadOnlyList<string> Feedback)
{
    /// <summary>An fmtp parameter's value (e.g. <c>apt</c>, <c>packetization-mode</c>).</summary>
    /// <param name="name">The parameter.</param>
    /// <returns>Its value or null.</returns>
    public string? Parameter(string name)
    {
        foreach (var part in (Parameters ?? string.Empty).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0 && part[..eq].Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return part[(eq + 1)..];
            }
        }

        return null;
    }
}

/// <summary>One <c>m=</c> section and its attributes.</summary>
public sealed class MediaDescription
{
    /// <summary>Creates a section.</summary>
    /// <param name="kind"><c>audio</c>, <c>video</c> or <c>application</c>.</param>
    /// <param name="port">Port; 0 rejects the section.</param>
    /// <param name="protocol">e.g. <c>UDP/TLS/RTP/SAVPF</c>.</param>
    /// <param name="formats">Payload types (or other format tokens).</param>
    public MediaDescription(string kind, int port, string protocol, IEnumerable<string> formats)
    {
        Kind = kind;
        Port = port;
        Protocol = protocol;
        Formats = formats.ToList();
    }

    /// <summary>Media kind.</summary>
    public string Kind { get; set; }

    /// <summary>Port (9 in WebRTC; 0 = rejected).</summary>
    public int Port { get; set; }

    /// <summary>Transport protocol.</summary>
    public string Protocol { get; set; }

    /// <summary>Format tokens (payload types), in preference order.</summary>
    public List<string> Formats { get; }

    /// <summary>Non-attribute lines inside the section (<c>c=</c>, <c>b=</c>, …).</summary>
    public List<(char Type, string Value)> OtherLines { get; } = [];

    /// <summary>Attributes, in order.</summary>
    public List<SdpAttribute> Attributes { get; } = [];

    /// <summary>Whether the section is rejected (port 0).</summary>
    public bool IsRejected => Port == 0;

    /// <summary><c>a=mid</c>.</summary>
    public string? Mid { get => Get("mid"); set => Set("mid", value); }

    /// <summary><c>a=ice-ufrag</c>.</summary>
    public string? IceUfrag { get => Get("ice-ufrag"); set => Set("ice-ufrag", value); }

    /// <summary><c>a=ice-pwd</c>.</summary>
    public string? IcePwd { get => Get("ice-pwd"); set => Set("ice-pwd", value); }

    /// <summary><c>a=fingerprint</c> value, e.g. <c>sha-256 AB:CD:…</c>.</summary>
    public string? Fingerprint { get => Get("fingerprint"); set => Set("fingerprint", value); }

    /// <summary><c>a=setup</c>: <c>actpass</c>, <c>active</c> or <c>passive</c>.</summary>
    public string? Setup { get => Get("setup"); set => Set("setup", value); }

    /// <summary>Whether <c>a=rtcp-mux</c> is present.</summary>
    public bool RtcpMux => Has("rtcp-mux");

    /// <summary>The direction attribute (sendrecv when absent).</summary>
    public MediaDirection Direction
    {
        get => Has("sendonly") ? MediaDirection.SendOnly : Has("recvonly") ? MediaDirection.RecvOnly : Has("inactive") ? MediaDirection.Inactive : MediaDirection.SendRecv;
        set
        {
            int index = Attributes.FindIndex(a => a.Name is "sendrecv" or "sendonly" or "recvonly" or "inactive");
            var attribute = new SdpAttribute(value switch { MediaDirection.SendOnly => "sendonly", MediaDirection.RecvOnly => "recvonly", MediaDirection.Inactive => "inactive", _ => "sendrecv" }, null);
            if (index >= 0)
            {
                Attributes[index] = attribute;
            }
            else
            {
                Attributes.Add(attribute);
            }
        }
    }

    /// <summary>The <c>a=candidate</c> values (raw; ICE parses them).</summary>
    public IEnumerable<string> Candidates => Attributes.Where(a => a.Name == "candidate" && a.Value is not null).Select(a => a.Value!);

    /// <summary>The SSRCs of <c>a=ssrc</c> lines, first one first.</summary>
    public IReadOnlyList<uint> Ssrcs => Attributes.Where(a => a.Name == "ssrc" && a.Value is not null)
        .Select(a => uint.TryParse(a.Value!.Split(' ')[0], NumberStyles.None, CultureInfo.InvariantCulture, out uint s) ? s : 0).Where(s => s != 0).Distinct().ToArray();

    /// <summary>The <c>a=ssrc-group:FID</c> pair (media, RTX), if any.</summary>
    public (uint Media, uint Rtx)? FidGroup
    {
        get
        {
            var group = Attributes.Find(a => a.Name == "ssrc-group" && a.Value?.StartsWith("FID ", StringComparison.Ordinal) == true)?.Value?.Split(' ');
            return group is { Length: >= 3 } && uint.TryParse(group[1], CultureInfo.InvariantCulture, out uint m) && uint.TryParse(group[2], CultureInfo.InvariantCulture, out uint r) ? (m, r) : null;
        }
    }

    /// <summary>The <c>a=extmap</c> entries as (id, uri).</summary>
    public IReadOnlyList<(int Id, string Uri)> Extensions => Attributes.Where(a => a.Name == "extmap" && a.Value is not null)
        .Select(a => a.Value!.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        .Where(p => p.Length >= 2 && int.TryParse(p[0].Split('/')[0], NumberStyles.None, CultureInfo.InvariantCulture, out _))
        .Select(p => (int.Parse(p[0].Split('/')[0], CultureInfo.InvariantCulture), p[1])).ToArray();

    /// <summary>The <c>a=rid</c> lines as (id, direction), in order; restrictions after the direction are ignored.</summary>
    public IReadOnlyList<(string Id, string Direction)> Rids => Attributes.Where(a => a.Name == "rid" && a.Value is not null)
        .Select(a => a.Value!.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        .Where(p => p.Length >= 2 && IsRidId(p[0]) && p[1] is "send" or "recv")
        .Select(p => (p[0], p[1])).ToArray();

    /// <summary>
    /// The RIDs of <c>a=simulcast</c> (RFC 8853) in the given direction (<c>send</c> or <c>recv</c>), in order; of
    /// each alternative list the first entry is taken, and a paused RID (<c>~q</c>) is returned without its tilde.
    /// Empty when there is no simulcast in that direction.
    /// </summary>
    /// <param name="direction"><c>send</c> or <c>recv</c>.</param>
    /// <returns>The RIDs.</returns>
    public IReadOnlyList<string> SimulcastRids(string direction)
    {
        var value = Get("simulcast");
        if (value is null)
        {
            return [];
        }

        var parts = value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        for (int i = 0; i + 1 < parts.Length; i += 2)
        {
            if (parts[i] == direction)
            {
                return parts[i + 1].Split(';', StringSplitOptions.RemoveEmptyEntries)
                    .Select(alt => alt.Split(',')[0].TrimStart('~')).Where(IsRidId).Distinct(StringComparer.Ordinal).ToArray();
            }
        }

        return [];
    }

    /// <summary>The id an <c>a=extmap</c> gives a header-extension URI, or 0 when it is not negotiated.</summary>
    /// <param name="uri">The extension's URI.</param>
    /// <returns>Its id (1-255), or 0.</returns>
    public int ExtensionId(string uri)
    {
        foreach (var (id, u) in Extensions)
        {
            if (u == uri && id is >= 1 and <= 255)
            {
                return id;
            }
        }

        return 0;
    }

    /// <summary>RFC 8851 rid-id: 1-16 alphanumerics, '-' or '_' (bounded here so a hostile offer cannot grow it).</summary>
    internal static bool IsRidId(string id) => id.Length is >= 1 and <= 16 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    /// <summary>The codecs, in the order of the m-line's formats.</summary>
    public IReadOnlyList<SdpCodec> Codecs
    {
        get
        {
            var list = new List<SdpCodec>();
            foreach (var format in Formats)
            {
                if (!int.TryParse(format, NumberStyles.None, CultureInfo.InvariantCulture, out int pt))
                {
                    continue;
                }

                var rtpmap = Attributes.Find(a => a.Name == "rtpmap" && a.Value?.StartsWith(format + " ", StringComparison.Ordinal) == true)?.Value;
                if (rtpmap is null)
                {
                    continue;
                }

                var encoding = rtpmap[(format.Length + 1)..].Split('/');
                int clock = encoding.Length > 1 && int.TryParse(encoding[1], NumberStyles.None, CultureInfo.InvariantCulture, out int c) ? c : 90000;
                var fmtp = Attributes.Find(a => a.Name == "fmtp" && a.Value?.StartsWith(format + " ", StringComparison.Ordinal) == true)?.Value?[(format.Length + 1)..];
                var feedback = Attributes.Where(a => a.Name == "rtcp-fb" && a.Value?.StartsWith(format + " ", StringComparison.Ordinal) == true).Select(a => a.Value![(format.Length + 1)..]).ToArray();
                list.Add(new SdpCodec(pt, encoding[0], clock, fmtp, feedback));
            }

            return list;
        }
    }

    /// <summary>The first value of an attribute.</summary>
    /// <param name="name">Attribute name.</param>
    /// <returns>Its value, or null.</returns>
    public string? Get(string name) => Attributes.Find(a => a.Name == name)?.Value;

    /// <summary>Whether an attribute is present.</summary>
    /// <param name="name">Attribute name.</param>
    /// <returns>True when present.</returns>
    public bool Has(string name) => Attributes.Exists(a => a.Name == name);

    /// <summary>Replaces (or removes, for null) an attribute.</summary>
    /// <param name="name">Attribute name.</param>
    /// <param name="value">New value.</param>
    public void Set(string name, string? value)
    {
        int index = Attributes.FindIndex(a => a.Name == name);
        if (value is null)
        {
            if (index >= 0)
            {
                Attributes.RemoveAt(index);
            }

            return;
        }

        if (index >= 0)
        {
            Attributes[index] = new SdpAttribute(name, value);
        }
        else
        {
            Attributes.Add(new SdpAttribute(name, value));
        }
    }

    internal void WriteTo(StringBuilder sb)
    {
        sb.Append("m=").Append(Kind).Append(' ').Append(Port.ToString(CultureInfo.InvariantCulture)).Append(' ').Append(Protocol);
        foreach (var f in Formats)
        {
            sb.Append(' ').Append(f);
        }

        sb.Append("\r\n");
        foreach (var (type, value) in OtherLines)
        {
            sb.Append(type).Append('=').Append(value).Append("\r\n");
        }

        foreach (var a in Attributes)
        {
            sb.Append(a).Append("\r\n");
        }
    }
}
