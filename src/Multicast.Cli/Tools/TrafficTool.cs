namespace Multicast.Cli.Tools;

// Placeholder until the test sender/receiver lands.
public static class TrafficTool
{
    public static int Run(string[] args)
    {
        Console.Error.WriteLine("error: tool is not built yet");
        return 1;
    }
}
