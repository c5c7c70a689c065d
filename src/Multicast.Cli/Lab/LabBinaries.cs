namespace Multicast.Cli.Lab;

/// <summary>
/// Where the lab finds the product's executables. The demo runs from out/app and uses the launchers beside it in
/// out/bin; tests run from their own bin folder and find out/bin by walking up to the repository root.
/// </summary>
public sealed record LabBinaries(string Multicast, string? ServerLauncher, string? ClientLauncher)
{
    public const string BinDirVariable = "MULTICAST_BIN_DIR";

    /// <summary>Command line (file + leading args) that runs the server tool `multis_admin`.</summary>
    public (string File, string[] Args) Server => ServerLauncher is not null ? (ServerLauncher, []) : (Multicast, ["--as", "multis_admin"]);

    public (string File, string[] Args) Client => ClientLauncher is not null ? (ClientLauncher, []) : (Multicast, ["--as", "multic_admin"]);

    public static LabBinaries Locate()
    {
        string? fromEnv = Environment.GetEnvironmentVariable(BinDirVariable);
        if (!string.IsNullOrEmpty(fromEnv))
            return FromBinDir(fromEnv) ?? throw new InvalidOperationException($"{BinDirVariable}={fromEnv} holds no 'multicast' launcher");

        // Running as the published app (out/app/multicast): launchers live in ../bin.
        string? processPath = Environment.ProcessPath;
        if (processPath is not null && Path.GetFileNameWithoutExtension(processPath) == "multicast")
        {
            string appDir = Path.GetDirectoryName(processPath)!;
            LabBinaries? sibling = FromBinDir(Path.Combine(appDir, "..", "bin"));
            if (sibling is not null) return sibling;
            return new LabBinaries(processPath, null, null);
        }

        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            LabBinaries? found = FromBinDir(Path.Combine(dir.FullName, "out", "bin"));
            if (found is not null) return found;
        }
        throw new InvalidOperationException("cannot find out/bin/multicast; run ./build.sh first (or set MULTICAST_BIN_DIR)");
    }

    private static LabBinaries? FromBinDir(string dir)
    {
        string full = Path.GetFullPath(dir);
        string multicast = Path.Combine(full, "multicast");
        if (!File.Exists(multicast)) return null;
        string server = Path.Combine(full, "multis_admin"), client = Path.Combine(full, "multic_admin");
        return new LabBinaries(multicast, File.Exists(server) ? server : null, File.Exists(client) ? client : null);
    }
}
