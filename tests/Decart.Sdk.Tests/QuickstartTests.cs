using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Decart.Sdk.Tests;

/// <summary>The README's main job, run as a user runs it (short mode): it must reconnect once and keep receiving.</summary>
public class QuickstartTests
{
    [Theory]
    [InlineData("livekit")]
    [InlineData("direct")]
    public async Task The_quickstart_streams_changes_state_survives_a_drop_and_writes_snapshots(string transport)
    {
        string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        string dll = Path.Combine(Decart.Testing.RepositoryPaths.Root, "samples", "Quickstart", "bin", configuration, "net10.0", "Quickstart.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing: build the solution");
        var output = Directory.CreateTempSubdirectory("quickstart");
        try
        {
            var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { dll, "--short", "--out", output.FullName, "--transport", transport })
            {
                info.ArgumentList.Add(a);
            }

            using var process = Process.Start(info)!;
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
            var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
            await process.WaitForExitAsync(timeout.Token);
            string text = await stdout + await stderr;
            Assert.True(process.ExitCode == 0, text);
            Assert.Contains("states: Connecting > Connected > Generating > Reconnecting > Connected > Generating > Disconnected", text, StringComparison.Ordinal);
            Assert.Contains("reconnects: 1", text, StringComparison.Ordinal);
            Assert.Matches(transport == "direct"
                ? @"connect: \d+ ms \(websocket-open \d+ ms, .*initial-state-ack \d+ ms, webrtc-handshake \d+ ms.*first-frame \d+ ms"
                : @"connect: \d+ ms \(websocket-open \d+ ms, .*room-info \d+ ms, room-join \d+ ms.*first-frame \d+ ms", text);
            Assert.Contains($"transport: {transport}", text, StringComparison.Ordinal);
            var after = Regex.Match(text, @"received after reconnect: (\d+)");
            Assert.True(after.Success && long.Parse(after.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) > 0, text);
            Assert.Matches(@"glass-to-glass latency: p50 [\d.]+ ms, p99 [\d.]+ ms \(\d+ frames\)", text);
            foreach (var png in new[] { "sent.png", "received.png" })
            {
                var bytes = await File.ReadAllBytesAsync(Path.Combine(output.FullName, png));
                Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47 }, bytes[..4]);
            }
        }
        finally
        {
            output.Delete(recursive: true);
        }
    }
}
