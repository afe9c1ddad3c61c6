namespace Decart.Rtc.Tests;

public class WarmUpTests
{
    [Fact]
    public async Task The_warm_up_runs_once_per_process_and_leaves_the_certificate_made()
    {
        var first = RtcWarmUp.RunAsync();
        var second = RtcWarmUp.RunAsync();
        await Task.WhenAll(first, second).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(RtcWarmUp.IsDone);
        Assert.True(RtcWarmUp.Succeeded, "the warm-up got through its DTLS handshake and an SRTP packet each way");
        Assert.StartsWith("sha-256 ", Decart.Rtc.Dtls.DtlsCertificate.Default.Fingerprint, StringComparison.Ordinal);

        Assert.True(first.IsCompletedSuccessfully && second.IsCompletedSuccessfully); // never faulted: a failed warm-up is swallowed
    }
}
