// Compiles Java sources with Janino into one jar, before a driver JVM starts (for classes
// that Hive finds by name on the class path). Run by novacrm_spark/serving/jvm/__init__.py as
//   java -cp <pyspark jars> org.codehaus.janino.SimpleCompiler JarWriter.java JarWriter OUT.jar A.java ...

public class JarWriter {
    public static void main(String[] args) throws Exception {
        java.util.jar.JarOutputStream jar = new java.util.jar.JarOutputStream(new java.io.FileOutputStream(args[0]));
        try {
            for (int i = 1; i < args.length; i++) {
                org.codehaus.janino.SimpleCompiler compiler = new org.codehaus.janino.SimpleCompiler();
                compiler.cookFile(args[i]);
                java.util.Iterator classes = compiler.getBytecodes().entrySet().iterator();
                while (classes.hasNext()) {
                    java.util.Map.Entry compiled = (java.util.Map.Entry) classes.next();
                    jar.putNextEntry(new java.util.jar.JarEntry(((String) compiled.getKey()).replace('.', '/') + ".class"));
                    jar.write((byte[]) compiled.getValue());
                    jar.closeEntry();
                }
            }
        } finally {
            jar.close();
        }
    }
}
