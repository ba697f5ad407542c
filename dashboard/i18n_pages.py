"""User-facing strings of the Evaluate and History pages, fast mode, saved runs and path limits.

``dashboard.i18n`` merges these into its ENGLISH and SPANISH tables, so ``t()``
finds them like any other string.
"""

from __future__ import annotations

ENGLISH = {
    "pages.compare": "Compare",
    "pages.evaluate": "Evaluate",
    "pages.history": "History",

    "progress.read": "Reading images, {done} of {total}",

    "fast.choice": "Fast CPU mode (int8)",
    "fast.choice_help": "Quantises the linear layers to 8-bit integers: faster on a CPU, but probabilities "
                        "can move. The page compares the result with float32 on your images.",
    "fast.header": "Fast CPU mode against float32",
    "fast.hint": "Each fast (int8) model next to its float32 twin on the same images and labels. Top-1 "
                 "agreement: the share of image × phrasing set pairs with the same top label. Largest "
                 "difference: the biggest change of any label's probability.",
    "fast.running": "Classifying with {model} (float32) to compare with fast mode…",
    "fast.unmatched": "{model}: no float32 result to compare with, because the float32 twin failed or shares "
                      "no image with it.",

    "paths.disabled": "This server listens beyond this machine, so folder and file paths are disabled. To "
                      "allow them, set {variable} to the folders that may be read (separated by ':' on Linux "
                      "and macOS, ';' on Windows) and restart the server.",
    "paths.limited": "This server listens beyond this machine, so paths must be inside: {roots}",
    "paths.refused": "**{path}** cannot be used on this server: {reason}",
    "paths.reason_disabled": "paths are disabled until {variable} names the folders that may be read.",
    "paths.reason_outside": "it is outside the allowed folders (links and '..' are resolved first).",
    "paths.reason_invalid": "the path is invalid.",

    "runs.save_header": "Save this run",
    "runs.name": "Run name",
    "runs.name_placeholder": "e.g. shapes, English against Spanish",
    "runs.save": "Save run",
    "runs.saved": "Saved as run #{id} in {path}. Open it on the History page.",
    "runs.save_failed": "The run could not be saved; nothing was written. Details: {detail}",

    "evaluate.title": "Evaluate",
    "evaluate.tagline": "Accuracy of models × phrasing sets on a labelled image set: one subfolder per class, "
                        "or a CSV file of image,label rows.",
    "evaluate.data_header": "Labelled images",
    "evaluate.data": "Folder or CSV file on the server",
    "evaluate.data_placeholder": "/path/to/images",
    "evaluate.data_help": "A folder with one subfolder per class (the subfolder name is the class), or a CSV "
                          "file with image and label columns; image paths are relative to the CSV file.",
    "evaluate.labels_header": "Labels",
    "evaluate.labels": "Labels for the classes",
    "evaluate.labels_classes": "Class names",
    "evaluate.labels_file": "Phrasing file",
    "evaluate.labels_cifar10": "CIFAR-10 preset",
    "evaluate.labels_cifar100": "CIFAR-100 preset",
    "evaluate.classes_hint": "Each class name is its own label, without a template.",
    "evaluate.preset_hint": "The CLIP paper's class names and templates for {classes} classes; phrasing sets: "
                            "{sets}. Name the class folders like the data set's classes (airplane, …).",
    "evaluate.phrasing_file": "Phrasing file (JSON)",
    "evaluate.phrasing_file_help": "{\"phrasings\": [{\"name\": \"English\", \"templates\": \"photo\", "
                                   "\"labels\": {\"cat\": \"cat\"}}, …]}: one label per class and phrasing set.",
    "evaluate.need_phrasing_file": "Upload a phrasing file, or choose another source of labels.",
    "evaluate.bad_phrasing_file": "The phrasing file **{name}** cannot be used. Problem: {detail}",
    "evaluate.phrasing_file_sets": "Phrasing sets in the file: {sets}",
    "evaluate.twins_added": "Also evaluated, to compare with fast mode: {models}",
    "evaluate.run": "Evaluate",
    "evaluate.failed": "The evaluation could not run. Details: {detail}",
    "evaluate.skipped": "{count} file(s) or row(s) skipped",
    "evaluate.metrics_header": "Accuracy per model and phrasing set",
    "evaluate.metrics_hint": "Top-1: the true class is the top label. Top-5: it is among the five top labels "
                             "(always 100% with five labels or fewer). Mean recall: the average of the "
                             "per-class accuracies.",
    "evaluate.published_hint": "Published: zero-shot top-1 accuracy from open_clip's results table, measured "
                               "on the data set's 10,000 test images.",
    "evaluate.agreement_header": "Agreement between phrasing sets",
    "evaluate.confusion_header": "Confusion matrix",
    "evaluate.confusion_title": "{model} · {phrasing}",
    "evaluate.worst_header": "Worst-classified images: {model} · {phrasing}",
    "evaluate.no_worst": "No image to show.",
    "evaluate.no_thumbnail": "(image not available)",
    "evaluate.worst_truth": "True label: {label}, {probability}, rank {rank}",
    "evaluate.worst_top": "Top labels: {labels}",

    "history.title": "History",
    "history.tagline": "Saved runs: reopen one as it was saved, compare two, export, import or delete.",
    "history.store_failed": "The run database cannot be used, so nothing was read or written. Details: {detail}",
    "history.empty": "No saved runs yet in {path}. Save one from the Compare or Evaluate page.",
    "history.database": "{count} run(s) in {path}",
    "history.unnamed": "(no name)",
    "history.kind_comparison": "comparison",
    "history.kind_evaluation": "evaluation",
    "history.run_label": "#{id} · {name} · {kind} · {created}",
    "history.open_header": "Open a run",
    "history.open": "Run",
    "history.load_failed": "The run could not be read. Details: {detail}",
    "history.export": "Export (JSON)",
    "history.delete": "Delete",
    "history.confirm_delete": "Delete {run}? This cannot be undone; export it first to keep a copy.",
    "history.delete_yes": "Yes, delete",
    "history.delete_no": "Cancel",
    "history.deleted": "Run #{id} was deleted.",
    "history.delete_failed": "The run could not be deleted. Details: {detail}",
    "history.run_facts": "{kind} · saved {created} · models: {models} · phrasing sets: {phrasings}",
    "history.settings": "Settings",
    "history.provenance": "Provenance: weights, package versions, platform",
    "history.all_rows": "All {count} result rows",
    "history.compare_header": "Compare two runs",
    "history.run_a": "Run A",
    "history.run_b": "Run B",
    "history.same_run": "Choose two different runs.",
    "history.settings_differences": "Settings",
    "history.core_english": "Differences, as CLIP Compare's engine reports them (in English):",
    "history.same_settings": "Both runs used the same models, phrasing sets and data.",
    "history.metric_differences": "Accuracy: A, B and B − A",
    "history.no_metrics": "Accuracy is compared only when both runs are evaluations.",
    "history.probability_differences": "Probabilities: largest differences B − A",
    "history.probability_hint": "{shown} of {total} rows found in both runs; largest difference "
                                "{max}.",
    "history.no_shared_rows": "The two runs share no image × model × phrasing set × label.",
    "history.import_header": "Import a run",
    "history.import": "Run file (JSON)",
    "history.import_help": "A file exported from the History page or by `python -m core runs export`. Every "
                           "field is checked; nothing in the file is run.",
    "history.imported": "**{name}** was imported as run #{id}.",
    "history.import_failed": "**{name}** cannot be imported, so nothing was saved. Problem: {detail}",

    "charts.true_class": "true class",
    "charts.predicted_class": "predicted class",
    "charts.images": "images",

    "columns.images": "Images",
    "columns.labels": "Labels",
    "columns.top1": "Top-1",
    "columns.top5": "Top-5",
    "columns.mean_recall": "Mean recall",
    "columns.published_top1": "Published top-1",
    "columns.both_correct": "Both correct",
    "columns.file": "File",
    "columns.reason": "Reason",
    "columns.fast_model": "Fast model",
    "columns.reference_model": "Compared with",
    "columns.pairs": "Image × set pairs",
    "columns.top1_agreement": "Top-1 agreement",
    "columns.max_difference": "Largest difference",
    "columns.disagreements": "Images with another top label",
    "columns.run_id": "Run",
    "columns.run_name": "Name",
    "columns.run_kind": "Kind",
    "columns.created": "Saved",
    "columns.best_top1": "Best top-1",
    "columns.top1_a": "Top-1 A",
    "columns.top1_b": "Top-1 B",
    "columns.top1_difference": "Top-1 B − A",
    "columns.recall_difference": "Mean recall B − A",
    "columns.probability_a": "Probability A",
    "columns.probability_b": "Probability B",
    "columns.difference": "B − A",
    "columns.same_image": "Same pixels",
}

SPANISH = {
    "pages.compare": "Comparar",
    "pages.evaluate": "Evaluar",
    "pages.history": "Historial",

    "progress.read": "Leyendo imágenes, {done} de {total}",

    "fast.choice": "Modo rápido en CPU (int8)",
    "fast.choice_help": "Cuantiza las capas lineales a enteros de 8 bits: más rápido en una CPU, pero las "
                        "probabilidades pueden cambiar. La página compara el resultado con float32 en tus "
                        "imágenes.",
    "fast.header": "Modo rápido frente a float32",
    "fast.hint": "Cada modelo rápido (int8) junto a su gemelo float32 con las mismas imágenes y etiquetas. "
                 "Coincidencia top-1: proporción de pares imagen × conjunto con la misma etiqueta ganadora. "
                 "Mayor diferencia: el mayor cambio de probabilidad de cualquier etiqueta.",
    "fast.running": "Clasificando con {model} (float32) para compararlo con el modo rápido…",
    "fast.unmatched": "{model}: no hay resultado float32 con el que comparar, porque el gemelo float32 falló "
                      "o no comparte ninguna imagen con él.",

    "paths.disabled": "Este servidor escucha más allá de este equipo, así que las rutas de carpetas y "
                      "archivos están desactivadas. Para permitirlas, define {variable} con las carpetas que "
                      "se pueden leer (separadas por ':' en Linux y macOS, ';' en Windows) y reinicia el "
                      "servidor.",
    "paths.limited": "Este servidor escucha más allá de este equipo, así que las rutas deben estar dentro de: "
                     "{roots}",
    "paths.refused": "**{path}** no se puede usar en este servidor: {reason}",
    "paths.reason_disabled": "las rutas están desactivadas hasta que {variable} indique las carpetas que se "
                             "pueden leer.",
    "paths.reason_outside": "está fuera de las carpetas permitidas (los enlaces y '..' se resuelven antes).",
    "paths.reason_invalid": "la ruta no es válida.",

    "runs.save_header": "Guardar esta ejecución",
    "runs.name": "Nombre de la ejecución",
    "runs.name_placeholder": "p. ej. formas, inglés frente a español",
    "runs.save": "Guardar ejecución",
    "runs.saved": "Guardada como ejecución n.º {id} en {path}. Ábrela en la página Historial.",
    "runs.save_failed": "No se pudo guardar la ejecución; no se escribió nada. Detalles: {detail}",

    "evaluate.title": "Evaluar",
    "evaluate.tagline": "Precisión de modelos × conjuntos de formulaciones sobre un conjunto de imágenes "
                        "etiquetadas: una subcarpeta por clase, o un archivo CSV con filas image,label.",
    "evaluate.data_header": "Imágenes etiquetadas",
    "evaluate.data": "Carpeta o archivo CSV en el servidor",
    "evaluate.data_placeholder": "/ruta/a/imagenes",
    "evaluate.data_help": "Una carpeta con una subcarpeta por clase (el nombre de la subcarpeta es la clase), "
                          "o un archivo CSV con las columnas image y label; las rutas de las imágenes son "
                          "relativas al archivo CSV.",
    "evaluate.labels_header": "Etiquetas",
    "evaluate.labels": "Etiquetas de las clases",
    "evaluate.labels_classes": "Nombres de clase",
    "evaluate.labels_file": "Archivo de formulaciones",
    "evaluate.labels_cifar10": "Preajuste CIFAR-10",
    "evaluate.labels_cifar100": "Preajuste CIFAR-100",
    "evaluate.classes_hint": "Cada nombre de clase es su propia etiqueta, sin plantilla.",
    "evaluate.preset_hint": "Los nombres de clase y las plantillas del artículo de CLIP para {classes} clases; "
                            "conjuntos de formulaciones: {sets}. Nombra las carpetas de clase como las clases "
                            "del conjunto de datos (airplane, …).",
    "evaluate.phrasing_file": "Archivo de formulaciones (JSON)",
    "evaluate.phrasing_file_help": "{\"phrasings\": [{\"name\": \"Español\", \"templates\": \"foto\", "
                                   "\"labels\": {\"cat\": \"un gato\"}}, …]}: una etiqueta por clase y conjunto.",
    "evaluate.need_phrasing_file": "Sube un archivo de formulaciones o elige otro origen de etiquetas.",
    "evaluate.bad_phrasing_file": "El archivo de formulaciones **{name}** no se puede usar. Problema: {detail}",
    "evaluate.phrasing_file_sets": "Conjuntos de formulaciones del archivo: {sets}",
    "evaluate.twins_added": "También se evalúan, para compararlos con el modo rápido: {models}",
    "evaluate.run": "Evaluar",
    "evaluate.failed": "No se pudo ejecutar la evaluación. Detalles: {detail}",
    "evaluate.skipped": "Se omitieron {count} archivo(s) o fila(s)",
    "evaluate.metrics_header": "Precisión por modelo y conjunto de formulaciones",
    "evaluate.metrics_hint": "Top-1: la clase verdadera es la etiqueta ganadora. Top-5: está entre las cinco "
                             "primeras (siempre 100 % con cinco etiquetas o menos). Exhaustividad media: la "
                             "media de las precisiones por clase.",
    "evaluate.published_hint": "Publicado: precisión top-1 sin ejemplos (zero-shot) de la tabla de resultados "
                               "de open_clip, medida en las 10 000 imágenes de prueba del conjunto de datos.",
    "evaluate.agreement_header": "Coincidencia entre conjuntos de formulaciones",
    "evaluate.confusion_header": "Matriz de confusión",
    "evaluate.confusion_title": "{model} · {phrasing}",
    "evaluate.worst_header": "Imágenes peor clasificadas: {model} · {phrasing}",
    "evaluate.no_worst": "No hay ninguna imagen que mostrar.",
    "evaluate.no_thumbnail": "(imagen no disponible)",
    "evaluate.worst_truth": "Etiqueta verdadera: {label}, {probability}, puesto {rank}",
    "evaluate.worst_top": "Etiquetas ganadoras: {labels}",

    "history.title": "Historial",
    "history.tagline": "Ejecuciones guardadas: reabre una tal como se guardó, compara dos, exporta, importa o "
                       "borra.",
    "history.store_failed": "La base de datos de ejecuciones no se puede usar, así que no se leyó ni se "
                            "escribió nada. Detalles: {detail}",
    "history.empty": "Aún no hay ejecuciones guardadas en {path}. Guarda una desde la página Comparar o "
                     "Evaluar.",
    "history.database": "{count} ejecución(es) en {path}",
    "history.unnamed": "(sin nombre)",
    "history.kind_comparison": "comparación",
    "history.kind_evaluation": "evaluación",
    "history.run_label": "n.º {id} · {name} · {kind} · {created}",
    "history.open_header": "Abrir una ejecución",
    "history.open": "Ejecución",
    "history.load_failed": "No se pudo leer la ejecución. Detalles: {detail}",
    "history.export": "Exportar (JSON)",
    "history.delete": "Borrar",
    "history.confirm_delete": "¿Borrar {run}? No se puede deshacer; expórtala antes para conservar una copia.",
    "history.delete_yes": "Sí, borrar",
    "history.delete_no": "Cancelar",
    "history.deleted": "Se borró la ejecución n.º {id}.",
    "history.delete_failed": "No se pudo borrar la ejecución. Detalles: {detail}",
    "history.run_facts": "{kind} · guardada {created} · modelos: {models} · conjuntos de formulaciones: "
                         "{phrasings}",
    "history.settings": "Configuración",
    "history.provenance": "Procedencia: pesos, versiones de paquetes, plataforma",
    "history.all_rows": "Las {count} filas de resultados",
    "history.compare_header": "Comparar dos ejecuciones",
    "history.run_a": "Ejecución A",
    "history.run_b": "Ejecución B",
    "history.same_run": "Elige dos ejecuciones distintas.",
    "history.settings_differences": "Configuración",
    "history.core_english": "Diferencias, tal como las informa el motor de CLIP Compare (en inglés):",
    "history.same_settings": "Las dos ejecuciones usaron los mismos modelos, conjuntos de formulaciones y "
                             "datos.",
    "history.metric_differences": "Precisión: A, B y B − A",
    "history.no_metrics": "La precisión solo se compara cuando las dos ejecuciones son evaluaciones.",
    "history.probability_differences": "Probabilidades: mayores diferencias B − A",
    "history.probability_hint": "{shown} de {total} filas presentes en las dos ejecuciones; mayor diferencia "
                                "{max}.",
    "history.no_shared_rows": "Las dos ejecuciones no comparten ninguna imagen × modelo × conjunto × etiqueta.",
    "history.import_header": "Importar una ejecución",
    "history.import": "Archivo de ejecución (JSON)",
    "history.import_help": "Un archivo exportado desde la página Historial o con `python -m core runs export`. "
                           "Se comprueban todos los campos; no se ejecuta nada del archivo.",
    "history.imported": "**{name}** se importó como ejecución n.º {id}.",
    "history.import_failed": "**{name}** no se puede importar, así que no se guardó nada. Problema: {detail}",

    "charts.true_class": "clase verdadera",
    "charts.predicted_class": "clase predicha",
    "charts.images": "imágenes",

    "columns.images": "Imágenes",
    "columns.labels": "Etiquetas",
    "columns.top1": "Top-1",
    "columns.top5": "Top-5",
    "columns.mean_recall": "Exhaustividad media",
    "columns.published_top1": "Top-1 publicado",
    "columns.both_correct": "Ambos aciertan",
    "columns.file": "Archivo",
    "columns.reason": "Motivo",
    "columns.fast_model": "Modelo rápido",
    "columns.reference_model": "Comparado con",
    "columns.pairs": "Pares imagen × conjunto",
    "columns.top1_agreement": "Coincidencia top-1",
    "columns.max_difference": "Mayor diferencia",
    "columns.disagreements": "Imágenes con otra etiqueta ganadora",
    "columns.run_id": "Ejecución",
    "columns.run_name": "Nombre",
    "columns.run_kind": "Tipo",
    "columns.created": "Guardada",
    "columns.best_top1": "Mejor top-1",
    "columns.top1_a": "Top-1 A",
    "columns.top1_b": "Top-1 B",
    "columns.top1_difference": "Top-1 B − A",
    "columns.recall_difference": "Exhaustividad media B − A",
    "columns.probability_a": "Probabilidad A",
    "columns.probability_b": "Probabilidad B",
    "columns.difference": "B − A",
    "columns.same_image": "Mismos píxeles",
}
