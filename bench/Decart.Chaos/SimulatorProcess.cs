using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Decart.Chaos;

/// <summary>The built simulator as its own process, as a user's CI runs it, with everything it writes kept and its /proc figures read.</summary>
internal sealed class SimulatorProcess : IDisposable
{
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource<string> _url = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private SimulatorProcess(Process process)
    {
        Process = process;
        Process.OutputDataReceived += (_, e) => OnLine(e.Data);
        Process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        Process.BeginOutputReadLine();
        Process.BeginErrorReadLine();
    }

    public Process Process { get; }

    public string Url { get; private set; } = string.Empty;

    public int Port => new Uri(Url).Port;

    /// <summary>Everything the process wrote so far.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static async Task<SimulatorProcess> StartAsync(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Decart.Simulator.dll"));
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        var sim = new SimulatorProcess(Process.Start(info)!);
        sim.Url = await sim._url.Task.WaitAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        return sim;
    }

    /// <summary>Resident memory in MB, from /proc.</summary>
    public double RssMb => ReadStatus("VmRSS:") / 1024.0;

    /// <summary>Threads, from /proc.</summary>
    public long Threads => ReadStatus("Threads:");

    /// <summary>Open file descriptors (sockets included), from /proc.</summary>
    public int OpenFds
    {
        get
        {
            try
            {
                return Directory.GetFiles($"/proc/{Process.Id}/fd").Length;
            }
            catch (IOException)
            {
                return -1;
            }
            catch (UnauthorizedAccessException)
            {
                return -1;
            }
        }
    }

    /// <summary>SIGTERM, wait for the exit (bounded), and return everything the process wrote.</summary>
    public async Task<string> StopAsync()
    {
        Signal("-TERM");
        await Process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        Process.WaitForExit(); // flushes the asynchronous readers
        return Output;
    }

    public void Signal(string signal) => Process.Start("kill", [signal, Process.Id.ToString(CultureInfo.InvariantCulture)])!.WaitForExit();

    public void Dispose()
    {
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
            Process.WaitForExit(5000);
        }

        Process.Dispose();
    }

    private long ReadStatus(string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{Process.Id}/status"))
            {
                if (line.StartsWith(field, StringComparison.Ordinal))
                {
                    return long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
        }

        return -1;
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            // Bounded: a simulator that floods its log is itself a finding (counted by the log checks), not a reason to run out of memory here.
            if (_output.Length < 64 * 1024 * 1024)
            {
                _output.AppendLine(line);
            }
        }

        const string prefix = "Decart simulator listening on ";
        if (line.StartsWith(prefix, StringComparison.Ordinal))
        {
            _url.TrySetResult(line[prefix.Length..]);
        }
    }
}
