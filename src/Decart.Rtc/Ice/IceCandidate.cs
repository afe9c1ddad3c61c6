using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Decart.Rtc.Ice;

/// <summary>ICE candidate types (RFC 8445 §5.1.1).</summary>
public enum IceCandidateType
{
    /// <summary>A local interface address.</summary>
    Host,

    /// <summary>Server reflexive (seen by a STUN server).</summary>
    ServerReflexive,

    /// <summary>Peer reflexive (learned from a connectivity check).</summary>
    PeerReflexive,

    /// <summary>Relayed (TURN).</summary>
    Relay,
}

/// <summary>One ICE candidate, as carried in <c>a=candidate</c> lines and trickled <c>candidate:</c> strings.</summary>
public sealed record IceCandidate
{
    /// <summary>Foundation.</summary>
    public required string Foundation { get; init; }

    /// <summary>Component (1 = RTP; WebRTC always multiplexes RTCP).</summary>
    public int Component { get; init; } = 1;

    /// <summary>Priority.</summary>
    public required uint Priority { get; init; }

    /// <summary>Address (IP literal or an mDNS <c>*.local</c> name).</summary>
    public required string Address { get; init; }

    /// <summary>Port.</summary>
    public required int Port { get; init; }

    /// <summary>Type.</summary>
    public IceCandidateType Type { get; init; } = IceCandidateType.Host;

    /// <summary>Related address (<c>raddr</c>).</summary>
    public string? RelatedAddress { get; init; }

    /// <summary>Related port (<c>rport</c>).</summary>
    public int? RelatedPort { get; init; }

    /// <summary>Whether <see cref="Address"/> is an mDNS name that needs resolving.</summary>
    public bool IsMdns => Address.EndsWith(".local", StringComparison.OrdinalIgnoreCase);

    /// <summary>The endpoint, when the address is an IP literal.</summary>
    public IPEndPoint? EndPoint => IPAddress.TryParse(Address, out var ip) ? new IPEndPoint(ip, Port) : null;

    /// <summary>RFC 8445 §5.1.2 priority: type preference, local preference, component.</summary>
    /// <param name="type">Candidate type.</param>
    /// <param name="localPreference">0–65535 (e.g. lower for IPv6 or loopback).</param>
    /// <param name="component">Component id.</param>
    /// <returns>The priority.</returns>
    public static uint ComputePriority(IceCandidateType type, int localPreference, int component = 1)
    {
        uint typePreference = type switch { IceCandidateType.Host => 126, IceCandidateType.PeerReflexive => 110, IceCandidateType.ServerReflexive => 100, _ => 0 };
        return (typePreference << 24) | ((uint)(localPreference & 0xFFFF) << 8) | (uint)(256 - component);
    }

    /// <summary>Parses <c>candidate:…</c> (with or without the prefix, or an <c>a=candidate:</c> line).</summary>
    /// <param name="text">The candidate string.</param>
    /// <param name="candidate">The candidate; null for TCP candidates and malformed strings.</param>
    /// <returns>Whether a usable UDP candidate was read.</returns>
    public static bool TryParse(string? text, out IceCandidate? candidate)
    {
        candidate = null;
        if (string.IsNullOrWhiteSpace(text) || text.Length > 1024)
        {
            return false;
        }

        text = text.Trim();
        if (text.StartsWith("a=", StringComparison.Ordinal))
        {
            text = text[2..];
        }

        if (text.StartsWith("candidate:", StringComparison.Ordinal))
        {
            text = text["candidate:".Length..];
        }

        var f = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (f.Length < 8 || f[6] != "typ"
            || !int.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out int component)
            || !uint.TryParse(f[3], NumberStyles.None, CultureInfo.InvariantCulture, out uint priority)
            || !int.TryParse(f[5], NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535
            || !f[2].Equals("udp", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        IceCandidateType? type = f[7] switch { "host" => IceCandidateType.Host, "srflx" => IceCandidateType.ServerReflexive, "prflx" => IceCandidateType.PeerReflexive, "relay" => IceCandidateType.Relay, _ => null };
        if (type is null || (!IPAddress.TryParse(f[4], out _) && !f[4].EndsWith(".local", StringComparison.OrdinalIgnoreCase)))
        {
            return false;
        }

        string? raddr = null;
        int? rport = null;
        for (int i = 8; i + 1 < f.Length; i += 2)
        {
            if (f[i] == "raddr")
            {
                raddr = f[i + 1];
            }
            else if (f[i] == "rport" && int.TryParse(f[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out int rp))
            {
                rport = rp;
            }
        }

        candidate = new IceCandidate { Foundation = f[0], Component = component, Priority = priority, Address = f[4], Port = port, Type = type.Value, RelatedAddress = raddr, RelatedPort = rport };
        return true;
    }

    /// <summary>The <c>candidate:…</c> string.</summary>
    /// <returns>The string as browsers write it.</returns>
    public override string ToString()
    {
        var sb = new StringBuilder("candidate:");
        sb.Append(Foundation).Append(' ').Append(Component.ToString(CultureInfo.InvariantCulture)).Append(" udp ")
            .Append(Priority.ToString(CultureInfo.InvariantCulture)).Append(' ').Append(Address).Append(' ')
            .Append(Port.ToString(CultureInfo.InvariantCulture)).Append(" typ ")
            .Append(Type switch { IceCandidateType.ServerReflexive => "srflx", IceCandidateType.PeerReflexive => "prflx", IceCandidateType.Relay => "relay", _ => "host" });
        if (RelatedAddress is not null && RelatedPort is not null)
        {
            sb.Append(" raddr ").Append(RelatedAddress).Append(" rport ").Append(RelatedPort.Value.ToString(CultureInfo.InvariantCulture));
        }

        sb.Append(" generation 0");
        return sb.ToString();
    }

    /// <summary>Addresses to gather host candidates on: every up interface's unicast IPv4/IPv6 (no link-local v6), loopback included.</summary>
    /// <param name="includeLoopback">Include 127.0.0.1 and ::1.</param>
    /// <returns>The addresses.</returns>
    public static IReadOnlyList<IPAddress> UsableAddresses(bool includeLoopback)
    {
        var result = new List<IPAddress>();
        foreach (var nic in System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces())
        {
            if (nic.OperationalStatus != System.Net.NetworkInformation.OperationalStatus.Up && nic.NetworkInterfaceType != System.Net.NetworkInformation.NetworkInterfaceType.Loopback)
            {
                continue;
            }

            foreach (var unicast in nic.GetIPProperties().UnicastAddresses)
            {
                var ip = unicast.Address;
                if ((ip.AddressFamily == AddressFamily.InterNetworkV6 && (ip.IsIPv6LinkLocal || ip.IsIPv6SiteLocal)) || (!includeLoopback && IPAddress.IsLoopback(ip)))
                {
                    continue;
                }

                if (ip.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6 && !result.Contains(ip))
                {
                    result.Add(ip);
                }
            }
        }

        if (includeLoopback && !result.Contains(IPAddress.Loopback))
        {
            result.Add(IPAddress.Loopback);
        }

        return result;
    }
}
