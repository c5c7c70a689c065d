namespace Multicast.Cli.Demo;

// Placeholder until the namespace-VPC demo lands (issue 2, item 6).
public static class DemoCommand
{
    public static int Run(string[] args)
    {
        Console.Error.WriteLine("error: demo is not built yet");
        return 1;
    }
}
