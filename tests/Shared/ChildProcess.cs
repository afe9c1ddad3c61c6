using System.Diagnostics;

namespace Decart.Testing;

/// <summary>Runs a program to its end, as a user would from a shell, and returns its exit code and output.</summary>
internal static class ChildProcess
{
    /// <summary>
    /// Runs <paramref name="program"/> with arguments (no shell), bounded by <paramref name="limit"/>: past it the process
    /// and its children are killed and <see cref="TimeoutException"/> is thrown. No build server or reused MSBuild node
    /// outlives a <c>dotnet</c> command holding the output pipes open.
    /// </summary>
    /// <returns>The exit code, standard output and standard error.</returns>
    public static async Task<(int Code, string Output, string Error)> RunAsync(string program, IEnumerable<string> args, TimeSpan limit, string? directory = null)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (directory is not null)
        {
            info.WorkingDirectory = directory;
        }

        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        info.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        info.Environment["UseSharedCompilation"] = "false";
        using var process = Process.Start(info)!;
        using var timeout = new CancellationTokenSource(limit);
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish in {limit}");
        }

        return (process.ExitCode, await stdout, await stderr);
    }
}
