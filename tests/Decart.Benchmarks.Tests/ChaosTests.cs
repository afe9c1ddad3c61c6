using Decart.Chaos;
using Xunit.Abstractions;

namespace Decart.Benchmarks.Tests;

/// <summary>
/// The hostile-input, fault and soak campaign (bench/Decart.Chaos) in its short mode, as CI runs it: a standalone
/// simulator process with a bystander session, attacked and killed; nothing may break. The long mode's figures are
/// in docs/reliability.md.
/// </summary>
public sealed class ChaosTests(ITestOutputHelper output)
{
    [Fact]
    public async Task The_short_campaign_breaks_nothing()
    {
        var results = await new Campaign(new CampaignOptions { Log = output.WriteLine }).RunAsync();
        Assert.True(results.Count >= 15, $"{results.Count} checks ran");
        Assert.Contains(results, r => r.Area == "logs");
        Assert.Contains(results, r => r.Check.StartsWith("SIGTERM", StringComparison.Ordinal));
        var broke = results.Where(r => r.Verdict == Verdict.Broke).Select(r => $"{r.Area}/{r.Check}: {r.Detail}").ToArray();
        Assert.True(broke.Length == 0, "broke: " + string.Join("; ", broke));
    }
}
