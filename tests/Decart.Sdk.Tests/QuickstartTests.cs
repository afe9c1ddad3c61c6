using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Decart.Sdk.Tests;

/// <summary>The README's main job, run as a user runs it (short mode): it must reconnect once and keep receiving.</summary>
public class QuickstartTests
{
    private static string QuickstartDll()
    {
        string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        string dll = Path.Combine(Decart.Testing.RepositoryPaths.Root, "samples", "Quickstart", "bin", configuration, "net10.0", "Quickstart.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing: build the solution");
        return dll;
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string program, params string[] args)
    {
        var (code, output, error) = await Decart.Testing.ChildProcess.RunAsync(program, args, TimeSpan.FromMinutes(2));
        return (code, output + error);
    }

    [Fact]
    public async Task The_quickstart_streams_a_file_through_ffmpeg_and_records_the_transformed_stream()
    {
        var output = Directory.CreateTempSubdirectory("quickstart-ffmpeg");
        try
        {
            string clip = Path.Combine(output.FullName, "in.mp4"), recorded = Path.Combine(output.FullName, "out.mp4");
            var made = await RunAsync("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=640x480:r=30:d=2", "-c:v", "libx264", "-pix_fmt", "yuv420p", clip);
            Assert.True(made.ExitCode == 0, made.Output);

            var (exitCode, text) = await RunAsync("dotnet", QuickstartDll(), "--short", "--out", output.FullName, "--input", clip, "--record", recorded);
            Assert.True(exitCode == 0, text);
            Assert.Contains("result: ok", text, StringComparison.Ordinal);
            Assert.Contains("mirror: auto (not a front camera: not mirrored)", text, StringComparison.Ordinal);
            var recording = Regex.Match(text, @"recording: .*out\.mp4 \((\d+) frames, \d+ dropped\)");
            Assert.True(recording.Success, text);

            var probe = await RunAsync("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries", "stream=width,height,nb_read_frames", "-of", "csv=p=0", recorded);
            Assert.True(probe.ExitCode == 0, probe.Output);
            var fields = probe.Output.Trim().Split(',');
            var model = Decart.Sdk.Models.RealtimeModels.LucyLatest;
            Assert.Equal($"{model.Width},{model.Height}", $"{fields[0]},{fields[1]}");
            Assert.Equal(recording.Groups[1].Value, fields[2]);          // every frame handed to ffmpeg is in the file
            Assert.True(int.Parse(fields[2], System.Globalization.CultureInfo.InvariantCulture) > 60, probe.Output);

            var bad = await RunAsync("dotnet", QuickstartDll(), "--short", "--input", Path.Combine(output.FullName, "missing.mp4"));
            Assert.Equal(2, bad.ExitCode);
            Assert.Contains("INVALID_INPUT", bad.Output, StringComparison.Ordinal);
        }
        finally
        {
            output.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("livekit")]
    [InlineData("direct")]
    public async Task The_quickstart_streams_changes_state_survives_a_drop_and_writes_snapshots(string transport)
    {
        var output = Directory.CreateTempSubdirectory("quickstart");
        try
        {
            var (exitCode, text) = await RunAsync("dotnet", QuickstartDll(), "--short", "--out", output.FullName, "--transport", transport);
            Assert.True(exitCode == 0, text);
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
