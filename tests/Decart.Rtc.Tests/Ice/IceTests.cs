using System.Net;
using System.Net.Sockets;
using Decart.Rtc.Ice;
using Decart.Rtc.Transport;

namespace Decart.Rtc.Tests.Ice;

public class IceCandidateTests
{
    [Theory]
    [InlineData("candidate:1467250027 1 udp 2122260223 192.168.0.196 46243 typ host generation 0 ufrag xyz network-id 1", "192.168.0.196", 46243, IceCandidateType.Host)]
    [InlineData("a=candidate:842163049 1 udp 1677729535 203.0.113.7 61665 typ srflx raddr 10.0.0.2 rport 61665 generation 0", "203.0.113.7", 61665, IceCandidateType.ServerReflexive)]
    [InlineData("candidate:3 1 UDP 1845501695 2001:db8::1 5000 typ prflx raddr :: rport 0", "2001:db8::1", 5000, IceCandidateType.PeerReflexive)]
    [InlineData("candidate:2 1 udp 2113937151 4a8b6c1e-1c2d-4e5f-8a9b-0c1d2e3f4a5b.local 51234 typ host generation 0", "4a8b6c1e-1c2d-4e5f-8a9b-0c1d2e3f4a5b.local", 51234, IceCandidateType.Host)]
    public void Browser_candidates_parse_and_round_trip(string line, string address, int port, IceCandidateType type)
    {
        Assert.True(IceCandidate.TryParse(line, out var c));
        Assert.Equal((address, port, type), (c!.Address, c.Port, c.Type));
        Assert.True(IceCandidate.TryParse(c.ToString(), out var again));
        Assert.Equal(c, again);
        Assert.Equal(address.EndsWith(".local", StringComparison.Ordinal), c.IsMdns);
    }

    [Theory]
    [InlineData("candidate:1 1 tcp 1518280447 192.168.0.196 9 typ host tcptype active")] // TCP: ignored
    [InlineData("candidate:1 1 udp 1 192.168.0.196 70000 typ host")]
    [InlineData("candidate:1 1 udp 1 not-an-ip 5000 typ host")]
    [InlineData("candidate:1 1 udp 1 127.0.0.1 5000 type host")]
    [InlineData("candidate:1 1 udp 1 127.0.0.1 5000 typ weird")]
    [InlineData("candidate:1 1 udp")]
    [InlineData("")]
    public void Unusable_candidates_are_ignored(string line) => Assert.False(IceCandidate.TryParse(line, out _));

    [Fact]
    public void Host_priority_follows_rfc_8445()
    {
        Assert.Equal(2130706431u, IceCandidate.ComputePriority(IceCandidateType.Host, 65535, 1));
        Assert.True(IceCandidate.ComputePriority(IceCandidateType.Host, 0) > IceCandidate.ComputePriority(IceCandidateType.PeerReflexive, 65535));
    }
}

public sealed class IceAgentTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    private static IceOptions Loopback(bool controlling, bool lite = false, double consentSeconds = 30) => new()
    {
        Controlling = controlling,
        Lite = lite,
        Addresses = [IPAddress.Loopback],
        ConsentInterval = TimeSpan.FromSeconds(consentSeconds / 4),
        ConsentTimeout = TimeSpan.FromSeconds(consentSeconds),
    };

    private static async Task Connect(IceAgent a, IceAgent b, bool trickleBToA = true, bool trickleAToB = true)
    {
        await a.StartAsync();
        await b.StartAsync();
        a.SetRemoteCredentials(b.LocalUfrag, b.LocalPassword);
        b.SetRemoteCredentials(a.LocalUfrag, a.LocalPassword);
        if (trickleBToA)
        {
            foreach (var c in b.LocalCandidates)
            {
                Assert.True(await a.AddRemoteCandidateAsync(c));
            }
        }

        if (trickleAToB)
        {
            foreach (var c in a.LocalCandidates)
            {
                await b.AddRemoteCandidateAsync(c);
            }
        }

        await Task.WhenAll(a.ConnectedAsync(), b.ConnectedAsync()).WaitAsync(Bound);
    }

    private static async Task<byte[]> Exchange(IceAgent from, IceAgent to, byte[] payload)
    {
        var got = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        DatagramHandler handler = d => got.TrySetResult(d.ToArray());
        to.DatagramReceived += handler;
        try
        {
            for (int i = 0; i < 20 && !got.Task.IsCompleted; i++)
            {
                Assert.True(from.Send(payload));
                await Task.WhenAny(got.Task, Task.Delay(100));
            }

            return await got.Task.WaitAsync(Bound);
        }
        finally
        {
            to.DatagramReceived -= handler;
        }
    }

    [Fact]
    public async Task Sockets_ask_for_a_larger_receive_buffer_than_the_systems_default_unless_told_not_to()
    {
        // What a fresh UDP socket gets from the system (Linux: net.core.rmem_default).
        using var plain = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        int systemDefault = plain.ReceiveBufferSize;

        await using var wide = new IceAgent(Loopback(controlling: true));
        await wide.StartAsync();
        Assert.Equal(IceOptions.DefaultReceiveBufferSize, new IceOptions().ReceiveBufferSize);
        // The 4 MiB asked for is capped by the system (rmem_max, doubled), but even a stock kernel's cap is more than its
        // default; a host whose default is already 4 MiB or more keeps it (never shrunk).
        Assert.All(wide.ReceiveBufferSizes(), size => Assert.True(
            systemDefault < IceOptions.DefaultReceiveBufferSize ? size > systemDefault : size >= systemDefault, $"{size} against a default of {systemDefault}"));

        await using var left = new IceAgent(Loopback(controlling: true) with { ReceiveBufferSize = 0 });
        await left.StartAsync();
        Assert.All(left.ReceiveBufferSizes(), size => Assert.Equal(systemDefault, size));
    }

    [Fact]
    public async Task Full_controlling_agent_connects_to_a_lite_agent_that_learns_it_peer_reflexively()
    {
        await using var client = new IceAgent(Loopback(controlling: true));
        await using var server = new IceAgent(Loopback(controlling: false, lite: true));
        var states = new List<IceState>();
        client.StateChanged += s => { lock (states) { states.Add(s); } };
        await Connect(client, server, trickleBToA: true, trickleAToB: false); // the server is given no candidates
        Assert.Equal(IceState.Connected, client.State);
        Assert.Equal(IceState.Connected, server.State);
        Assert.Equal([IceState.Checking, IceState.Connected], states);
        Assert.Equal(new byte[] { 0x80, 1, 2, 3 }, await Exchange(client, server, [0x80, 1, 2, 3]));
        Assert.Equal(new byte[] { 0x16, 9, 9 }, await Exchange(server, client, [0x16, 9, 9]));
    }

    [Fact]
    public async Task A_role_conflict_between_two_controlling_agents_resolves()
    {
        await using var a = new IceAgent(Loopback(controlling: true));
        await using var b = new IceAgent(Loopback(controlling: true));
        await Connect(a, b);
        Assert.NotEqual(a.IsControlling, b.IsControlling);
        Assert.Equal(new byte[] { 0x80, 7 }, await Exchange(a, b, [0x80, 7]));
    }

    /// <summary>An impairment that black-holes everything once switched on, and counts what it saw by kind.</summary>
    private sealed class Switchable : IPacketInterceptor
    {
        public volatile bool BlackHole;
        public TimeSpan Delay;
        public int Stun;
        public int Other;

        public InterceptDecision Intercept(PacketDirection direction, ReadOnlySpan<byte> datagram)
        {
            if (Rfc7983.Classify(datagram) == DatagramKind.Stun)
            {
                Interlocked.Increment(ref Stun);
            }
            else
            {
                Interlocked.Increment(ref Other);
            }

            return BlackHole ? InterceptDecision.Discard : Delay > TimeSpan.Zero ? new InterceptDecision(false, Delay) : InterceptDecision.Pass;
        }
    }

    [Fact]
    public async Task A_black_hole_in_the_impairment_hook_fails_consent_on_the_controlling_side()
    {
        var hole = new Switchable();
        await using var client = new IceAgent(Loopback(controlling: true, consentSeconds: 2));
        await using var server = new IceAgent(Loopback(controlling: false, lite: true, consentSeconds: 2) with { Interceptor = hole });
        await Connect(client, server, trickleAToB: false);
        Assert.True(hole.Stun > 0, "the hook sees the connectivity checks, below ICE");
        var failed = new TaskCompletionSource();
        client.StateChanged += s =>
        {
            if (s == IceState.Failed)
            {
                failed.TrySetResult();
            }
        };
        hole.BlackHole = true; // the server's sockets stay open; nothing gets in or out
        await failed.Task.WaitAsync(Bound);
        Assert.False(client.Send([0x80, 1]));
    }

    [Fact]
    public async Task The_impairment_hook_delays_checks_and_media_in_both_directions()
    {
        var slow = new Switchable { Delay = TimeSpan.FromMilliseconds(40) };
        await using var a = new IceAgent(Loopback(controlling: true) with { Interceptor = slow });
        await using var b = new IceAgent(Loopback(controlling: false, lite: true));
        await Connect(a, b, trickleAToB: false);
        Assert.Equal(new byte[] { 0x80, 9 }, await Exchange(a, b, [0x80, 9]));
        Assert.Equal(new byte[] { 0x80, 10 }, await Exchange(b, a, [0x80, 10]));
        Assert.True(slow.Stun > 0 && slow.Other >= 2, $"stun {slow.Stun}, other {slow.Other}");
    }

    [Fact]
    public async Task Lite_side_fails_when_checks_stop_arriving()
    {
        var client = new IceAgent(Loopback(controlling: true, consentSeconds: 2));
        await using var server = new IceAgent(Loopback(controlling: false, lite: true, consentSeconds: 2));
        await Connect(client, server, trickleAToB: false);
        var failed = new TaskCompletionSource();
        server.StateChanged += s =>
        {
            if (s == IceState.Failed)
            {
                failed.TrySetResult();
            }
        };
        await client.DisposeAsync();
        await failed.Task.WaitAsync(Bound);
    }

    [Fact]
    public async Task Garbage_datagrams_are_dropped_and_counted_while_the_connection_keeps_working()
    {
        await using var client = new IceAgent(Loopback(controlling: true));
        await using var server = new IceAgent(Loopback(controlling: false, lite: true));
        await Connect(client, server, trickleAToB: false);
        using var attacker = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var target = server.LocalCandidates[0].EndPoint!;
        var rng = new Random(5);
        for (int i = 0; i < 200; i++)
        {
            var junk = new byte[rng.Next(1, 600)];
            rng.NextBytes(junk);
            if (i % 3 == 0 && junk.Length >= 20)
            {
                junk[0] = 0; // looks like STUN: header, cookie
                junk[1] = 1;
                junk[4] = 0x21;
                junk[5] = 0x12;
                junk[6] = 0xa4;
                junk[7] = 0x42;
            }

            attacker.SendTo(junk, target);
        }

        Assert.Equal(new byte[] { 0x80, 42 }, await Exchange(client, server, [0x80, 42]));
        await Task.Delay(200);
        Assert.True(server.DroppedDatagrams >= 150, $"dropped {server.DroppedDatagrams}");
        Assert.Equal(IceState.Connected, server.State);
    }

    [Fact]
    public async Task Wrong_credentials_never_connect_and_fail_after_the_check_timeout()
    {
        await using var client = new IceAgent(Loopback(controlling: true) with { CheckTimeout = TimeSpan.FromSeconds(2) });
        await using var server = new IceAgent(Loopback(controlling: false, lite: true));
        await client.StartAsync();
        await server.StartAsync();
        client.SetRemoteCredentials(server.LocalUfrag, "definitely-not-the-password-123");
        server.SetRemoteCredentials(client.LocalUfrag, client.LocalPassword);
        await client.AddRemoteCandidateAsync(server.LocalCandidates[0]);
        await Assert.ThrowsAsync<IOException>(() => client.ConnectedAsync()).WaitAsync(Bound);
        Assert.Equal(IceState.Failed, client.State);
        Assert.True(server.DroppedDatagrams > 0);
        Assert.NotEqual(IceState.Connected, server.State);
    }

    [Fact]
    public async Task Dispose_releases_the_sockets()
    {
        var agent = new IceAgent(Loopback(controlling: true));
        await agent.StartAsync();
        int port = agent.LocalCandidates[0].Port;
        await agent.DisposeAsync();
        using var rebind = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        rebind.Bind(new IPEndPoint(IPAddress.Loopback, port)); // would throw if still bound
        Assert.Equal(IceState.Closed, agent.State);
    }

    [Fact]
    public async Task Unresolvable_mdns_candidates_are_ignored_but_peer_reflexive_discovery_still_connects()
    {
        await using var client = new IceAgent(Loopback(controlling: false));
        await using var server = new IceAgent(Loopback(controlling: true));
        await client.StartAsync();
        await server.StartAsync();
        client.SetRemoteCredentials(server.LocalUfrag, server.LocalPassword);
        server.SetRemoteCredentials(client.LocalUfrag, client.LocalPassword);
        var hidden = client.LocalCandidates[0] with { Address = "0f0e0d0c-0b0a-4908-8706-050403020100.local" };
        Assert.False(await server.AddRemoteCandidateAsync(hidden));
        foreach (var c in server.LocalCandidates)
        {
            await client.AddRemoteCandidateAsync(c); // the browser-like side has the server's real address
        }

        await Task.WhenAll(client.ConnectedAsync(), server.ConnectedAsync()).WaitAsync(Bound);
        Assert.Equal(new byte[] { 0x80, 3 }, await Exchange(server, client, [0x80, 3]));
    }
}
