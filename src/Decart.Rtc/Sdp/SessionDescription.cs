using System.Globalization;
using System.Text;

namespace Decart.Rtc.Sdp;

/// <summary>Offer or answer.</summary>
public enum SdpType
{
    /// <summary>An offer.</summary>
    Offer,

    /// <summary>An answer.</summary>
    Answer,
}

/// <summary>Why an SDP did not parse.</summary>
public enum SdpParseError
{
    /// <summary>Parsed.</summary>
    None,

    /// <summary>Empty, or larger than <see cref="SessionDescription.MaxLength"/>.</summary>
    BadSize,

    /// <summary>The first line is not <c>v=0</c>.</summary>
    MissingVersion,

    /// <summary>A line is not <c>x=value</c>.</summary>
    BadLine,

    /// <summary>An <c>m=</c> line has too few fields or a non-numeric port.</summary>
    BadMediaLine,

    /// <summary>More media sections than <see cref="SessionDescription.MaxMedia"/>.</summary>
    TooManyMedia,
}

/// <summary>A malformed SDP given to <see cref="SessionDescription.Parse"/>.</summary>
public sealed class SdpException : FormatException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="error">What is wrong.</param>
    /// <param name="line">1-based line number.</param>
    public SdpException(SdpParseError error, int line)
        : base($"SDP is malformed at line {line}: {error}.")
    {
        Error = error;
        Line = line;
    }

    /// <summary>What is wrong.</summary>
    public SdpParseError Error { get; }

    /// <summary>1-based line number.</summary>
    public int Line { get; }
}

/// <summary>One <c>a=</c> attribute: <c>a=name</c> or <c>a=name:value</c>. Unknown ones are kept verbatim.</summary>
/// <param name="Name">The name.</param>
/// <param name="Value">The value, or null for a flag.</param>
public sealed record SdpAttribute(string Name, string? Value)
{
    /// <inheritdoc />
    public override string ToString() => Value is null ? $"a={Name}" : $"a={Name}:{Value}";
}

/// <summary>
/// An SDP session description (RFC 8866) as WebRTC uses it (JSEP, RFC 8829): session lines and media sections
/// with their attributes, in order. Unknown lines and attributes round-trip verbatim; the writer emits CRLF.
/// </summary>
public sealed class SessionDescription
{
    /// <summary>Largest SDP accepted: 256 KiB.</summary>
    public const int MaxLength = 256 * 1024;

    /// <summary>Most media sections accepted.</summary>
    public const int MaxMedia = 64;

    /// <summary>Offer or answer.</summary>
    public SdpType Type { get; set; }

    /// <summary>The <c>o=</c> line's value.</summary>
    public string Origin { get; set; } = "- 0 2 IN IP4 127.0.0.1";

    /// <summary>The <c>s=</c> line's value.</summary>
    public string SessionName { get; set; } = "-";

    /// <summary>Other session-level lines (<c>t=</c>, <c>c=</c>, …) as <c>(type, value)</c>, in order.</summary>
    public List<(char Type, string Value)> SessionLines { get; } = [('t', "0 0")];

    /// <summary>Session-level attributes.</summary>
    public List<SdpAttribute> Attributes { get; } = [];

    /// <summary>The media sections.</summary>
    public List<MediaDescription> Media { get; } = [];

    /// <summary>Whether <c>a=ice-lite</c> is present.</summary>
    public bool IceLite
    {
        get => Attributes.Exists(a => a.Name == "ice-lite");
        set
        {
            Attributes.RemoveAll(a => a.Name == "ice-lite");
            if (value)
            {
                Attributes.Insert(0, new SdpAttribute("ice-lite", null));
            }
        }
    }

    /// <summary>The mids of the <c>a=group:BUNDLE</c> line.</summary>
    public IReadOnlyList<string> BundleMids =>
        Attributes.Find(a => a.Name == "group" && a.Value?.StartsWith("BUNDLE", StringComparison.Ordinal) == true)?.Value!
            .Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).ToArray() ?? [];

    /// <summary>Parses trusted SDP.</summary>
    /// <param name="sdp">The text.</param>
    /// <param name="type">Offer or answer.</param>
    /// <returns>The description.</returns>
    /// <exception cref="SdpException">With the line number, when malformed.</exception>
    public static SessionDescription Parse(string sdp, SdpType type) =>
        TryParse(sdp, type, out var description, out var error, out int line) ? description! : throw new SdpException(error, line);

    /// <summary>Parses SDP from a peer. Never throws.</summary>
    /// <param name="sdp">The text.</param>
    /// <param name="type">Offer or answer.</param>
    /// <param name="description">The description when valid.</param>
    /// <param name="error">Why not, otherwise.</param>
    /// <param name="line">The 1-based line of the error.</param>
    /// <returns>Whether it parsed.</returns>
    public static bool TryParse(string? sdp, SdpType type, out SessionDescription? description, out SdpParseError error, out int line)
    {
        description = null;
        line = 0;
        if (string.IsNullOrEmpty(sdp) || sdp.Length > MaxLength)
        {
            error = SdpParseError.BadSize;
            return false;
        }

        var result = new SessionDescription { Type = type };
        result.SessionLines.Clear();
        MediaDescription? media = null;
        bool sawVersion = false;
        foreach (var raw in sdp.Split('\n'))
        {
            line++;
            var text = raw.TrimEnd('\r');
            if (text.Length == 0)
            {
                continue;
            }

            if (text.Length < 2 || text[1] != '=' || !char.IsAsciiLetterLower(text[0]))
            {
                error = SdpParseError.BadLine;
                return false;
            }

            char kind = text[0];
            string value = text[2..];
            if (!sawVersion)
            {
                if (kind != 'v' || value != "0")
                {
                    error = SdpParseError.MissingVersion;
                    return false;
                }

                sawVersion = true;
                continue;
            }

            switch (kind)
            {
                case 'm':
                    if (result.Media.Count >= MaxMedia)
                    {
                        error = SdpParseError.TooManyMedia;
                        return false;
                    }

                    var parts = value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    if (parts.Length < 3 || !int.TryParse(parts[1].Split('/')[0], NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port > 65535)
                    {
                        error = SdpParseError.BadMediaLine;
                        return false;
                    }

                    media = new MediaDescription(parts[0], port, parts[2], parts.Skip(3));
                    result.Media.Add(media);
                    break;
                case 'a':
                    int colon = value.IndexOf(':', StringComparison.Ordinal);
                    var attribute = colon < 0 ? new SdpAttribute(value, null) : new SdpAttribute(value[..colon], value[(colon + 1)..]);
                    (media?.Attributes ?? result.Attributes).Add(attribute);
                    break;
                case 'o' when media is null:
                    result.Origin = value;
                    break;
                case 's' when media is null:
                    result.SessionName = value;
                    break;
                default:
                    if (media is null)
                    {
                        result.SessionLines.Add((kind, value));
                    }
                    else
                    {
                        media.OtherLines.Add((kind, value));
                    }

                    break;
            }
        }

        if (!sawVersion)
        {
            error = SdpParseError.MissingVersion;
            return false;
        }

        description = result;
        error = SdpParseError.None;
        line = 0;
        return true;
    }

    /// <summary>Writes the SDP with CRLF line endings.</summary>
    /// <returns>The text.</returns>
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append("v=0\r\n");
        sb.Append("o=").Append(Origin).Append("\r\n");
        sb.Append("s=").Append(SessionName).Append("\r\n");
        foreach (var (type, value) in SessionLines)
        {
            sb.Append(type).Append('=').Append(value).Append("\r\n");
        }

        foreach (var a in Attributes)
        {
            sb.Append(a).Append("\r\n");
        }

        foreach (var m in Media)
        {
            m.WriteTo(sb);
        }

        return sb.ToString();
    }
}
