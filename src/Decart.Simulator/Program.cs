namespace Decart.Simulator;

/// <summary>Command-line entry point of the simulator.</summary>
public static class Program
{
    /// <summary>Starts the simulator.</summary>
    public static int Main(string[] args)
    {
        Console.Error.WriteLine("not yet");
        return args.Length;
    }
}
