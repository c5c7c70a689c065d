namespace Multicast.Cli.Daemon;

public static class ServerAdmin
{
    public static int Run(string[] args) => throw new InvalidOperationException("multis_admin is not built yet");
}

public static class ClientAdmin
{
    public static int Run(string[] args) => throw new InvalidOperationException("multic_admin is not built yet");
}
