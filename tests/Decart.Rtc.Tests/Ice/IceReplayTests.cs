using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Decart.Rtc.Ice;
using Decart.Rtc.Stun;

namespace Decart.Rtc.Tests.Ice;

/// <summary>
/// A valid connectivity check sniffed and replayed from another address (issue 17): it is neither answered nor
/// trusted, while a retransmission from the check's own address is answered again.
/// </summary>
public sealed class IceReplayTests
{
    [Fact]
    public async Task A_replayed_check_from_another_port_is_refused_and_its_address_never_validated()
    {
        await using var agent = new IceAgent(new IceOptions { Lite = true, Controlling = false, Addresses = [IPAddress.Loopback] });
        await agent.StartAsync();
        agent.SetRemoteCredentials("peer", "peer-password-0123456789");
        var target = agent.LocalCandidates[0].EndPoint!;

        // The legitimate peer's check, authenticated with the agent's password.
        var transaction = RandomNumberGenerator.GetBytes(12);
        var check = new byte[256];
        var writer = new StunWriter(check, StunMessageType.BindingRequest, transaction);
        writer.AddUsername(Encoding.UTF8.GetBytes($"{agent.LocalUfrag}:peer"));
        writer.AddPriority(1_000_000);
        writer.AddIceRole(controlling: true, 42);
        writer.AddMessageIntegrity(Encoding.UTF8.GetBytes(agent.LocalPassword));
        writer.AddFingerprint();
        var bytes = writer.Written.ToArray();

        using var peer = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        using var attacker = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        await peer.SendAsync(bytes, target);
        Assert.True(await AnsweredAsync(peer, TimeSpan.FromSeconds(10)), "the peer's check is answered");

        long dropped = agent.DroppedDatagrams;
        await attacker.SendAsync(bytes, target);                                   // the same check, replayed from elsewhere
        Assert.False(await AnsweredAsync(attacker, TimeSpan.FromMilliseconds(1500)), "a replay is not answered");
        Assert.Equal(1, agent.ReplayedChecks);
        await attacker.SendAsync("media from the attacker"u8.ToArray(), target);   // its address was not validated
        await WaitAsync(() => agent.DroppedDatagrams >= dropped + 2);

        await peer.SendAsync(bytes, target);                                       // a retransmission from the peer itself
        Assert.True(await AnsweredAsync(peer, TimeSpan.FromSeconds(10)), "a retransmission is answered again");
        Assert.Equal(1, agent.ReplayedChecks);
    }

    /// <summary>Whether a binding success arrives within <paramref name="bound"/>: long for answers that must come (a busy machine), short for one that must not.</summary>
    private static async Task<bool> AnsweredAsync(UdpClient socket, TimeSpan bound)
    {
        using var wait = new CancellationTokenSource(bound);
        try
        {
            var result = await socket.ReceiveAsync(wait.Token);
            return StunMessage.TryParse(result.Buffer, out var message, out _) && message.Type == StunMessageType.BindingSuccess;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static async Task WaitAsync(Func<bool> condition)
    {
        for (int i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition());
    }
}
