"""Every user-facing string of the dashboard, in English and Spanish.

``t(key, **values)`` returns the string for the language chosen in the sidebar
(``st.session_state["language"]``), with ``values`` filled in by ``str.format``.
Messages that come from ``core`` are English; the dashboard shows them after a
sentence in the chosen language. The strings of the Evaluate and History pages are
in ``dashboard.i18n_pages`` and are merged into the tables below.
"""

from __future__ import annotations

import streamlit as st

from dashboard import i18n_pages

LANGUAGE_NAMES = {"en": "English", "es": "Español"}
DEFAULT_LANGUAGE = "en"
LANGUAGE_KEY = "language"

ENGLISH = {
    "app.title": "CLIP Compare",
    "app.tagline": "Compare CLIP models and label phrasings on your images: probabilities side by side, "
                   "in English and Spanish.",
    "app.loading_engine": "Loading the model engine (PyTorch and open_clip)…",

    "images.header": "Images",
    "images.samples_hint": "Tick sample photographs to classify.",
    "images.upload": "Upload images",
    "images.upload_help": "JPEG, PNG, WebP, GIF, BMP, TIFF… Files are checked by their content, not their name.",
    "images.shapes": "Shapes (generated)",
    "images.shapes_help": "Not a photo: {caption} drawn by core.demo, the code that made the demo model's "
                          "training images. The demo model recognises coloured shapes, not photographs.",

    "errors.image": "**{name}** cannot be used as an image, so it is left out; the other images still run. "
                    "Reason: {detail}",
    "errors.model": "**{name}** could not be loaded, so it is left out; the other models still run. "
                    "Details: {detail}",
    "errors.phrasing": "The phrasing set **{name}** is not valid, so it is left out. Details: {detail}",
    "errors.duplicate_set": "Two phrasing sets are called **{name}**; only the first one is used. "
                            "Rename the other one.",
    "errors.run": "The comparison could not run. Details: {detail}",

    "models.header": "Models",
    "models.curated": "Curated models",
    "models.other": "Other model ids (one per line)",
    "models.other_help": "ARCH/TAG from open_clip (e.g. ViT-B-16/openai), hf-hub:ORG/REPO, "
                         "local-dir:/path/to/folder, or demo.",
    "models.will_download": "These models are not on this machine and will download when the comparison runs: "
                            "{models}.",
    "models.offline_notice": "The default model {default} is not on this machine yet, so the page starts with "
                             "the offline demo model. Not downloaded yet: {models}. Each downloads on first use "
                             "when a network is available.",
    "models.facts": "Facts about the curated models",
    "models.demo_name": "Demo: coloured shapes (offline demo, not a real CLIP)",
    "models.status_demo": "included (demo)",
    "models.status_cached": "cached",
    "models.status_download": "downloads about {size:,} MB on first use",
    "models.facts_line": "{family} · {languages} · {params:.1f} M parameters · {status}",
    "models.download_item": "{name} (about {size:,} MB)",

    "model_descriptions.ViT-B-32/openai": "The original CLIP release; the classic baseline.",
    "model_descriptions.ViT-B-32/laion2b_s34b_b79k": "Same architecture trained on LAION-2B: isolates the "
                                                     "effect of training data.",
    "model_descriptions.xlm-roberta-base-ViT-B-32/laion5b_s13b_b90k": "Multilingual text tower: labels in "
                                                                      "Spanish and about 100 other languages.",
    "model_descriptions.ViT-B-16-SigLIP-i18n-256/webli": "Multilingual SigLIP: each label scored on its own; "
                                                         "64-token text context.",
    "model_descriptions.MobileCLIP2-S0/dfndr2b": "Small and fast: a good choice on a laptop CPU.",
    "model_descriptions.demo": "A tiny model trained in this repository on red, green and blue circles, squares "
                               "and triangles, with English and Spanish captions. Not a real CLIP: for trying "
                               "the tool offline.",

    "sets.header": "Phrasing sets",
    "sets.hint": "Each set is a name, labels (one per line) and templates. Sets with the same number of labels "
                 "are paired: label 1 of one set means label 1 of the other, which is how English and Spanish "
                 "are compared.",
    "sets.preset": "Ready-made pair",
    "sets.load_preset": "Load pair",
    "sets.add": "Add a set",
    "sets.new_name": "Set {number}",
    "sets.name": "Name",
    "sets.labels": "Labels, one per line",
    "sets.labels_help": "One label per line, or several on one line separated by commas. Empty lines are ignored.",
    "sets.template": "Template",
    "sets.custom": "Custom templates, one per line",
    "sets.custom_help": "Write {} where the label goes, e.g. 'a photo of {}.'. Several templates make an "
                        "ensemble: their text features are averaged per label.",
    "sets.dropped": "{count} empty label line(s) ignored.",
    "sets.remove": "Remove this set",
    "sets.empty": "Type at least one label, one per line.",
    "sets.example_prompt": "First prompt: “{prompt}” ({count} template(s) per label)",

    "presets.photos": "Sample photos: English / Español",
    "presets.shapes": "Demo shapes: English / Español",

    "templates.none": "No template: the label alone",
    "templates.photo": "a photo of a {}.",
    "templates.imagenet7": "ImageNet ensemble, 7 English templates",
    "templates.imagenet80": "ImageNet ensemble, 80 English templates",
    "templates.foto": "una foto de {}.",
    "templates.es7": "Spanish ensemble, 7 templates",
    "templates.custom": "Custom templates…",
    "templates.other": "{name}: “{first}” ({count} templates)",

    "settings.header": "Experiment settings",
    "settings.download": "Download settings (JSON)",
    "settings.upload": "Load settings from a JSON file",
    "settings.invalid": "This settings file cannot be used, so nothing was changed. Problem: {detail}",
    "settings.loaded": "Settings loaded. Images to add by hand (not in this copy or uploaded before): {missing}",

    "results.no_images": "Choose at least one image: tick a sample photo or the shapes example, or upload one.",
    "results.no_models": "Choose at least one model.",
    "results.no_sets": "Add at least one valid phrasing set.",
    "results.retry": "Try the models that failed again",
    "results.running": "Classifying with {count} model(s)…",

    "progress.download": "{model}: downloading weights, {done:,.0f} of {total:,.0f} MB",
    "progress.images": "{model}: encoding images, {done} of {total}",
    "progress.prompts": "{model}: encoding labels, {done} of {total}",

    "views.label": "View",
    "views.grid": "Grid",
    "views.summary": "Summary",
    "views.heatmap": "Heatmap",
    "views.difference": "Difference",
    "views.prompts": "Prompts",

    "downloads.csv": "Results (CSV)",
    "downloads.chart_help": "Download this chart as an image file.",

    "charts.label": "label",
    "charts.probability": "probability",
    "charts.score": "independent score",
    "charts.model": "model",
    "charts.image": "image",
    "charts.difference": "change in probability",
    "charts.softmax_subtitle": "softmax: probabilities over these labels, summing to 100%",
    "charts.sigmoid_subtitle": "sigmoid: an independent score per label, not summing to 100%",
    "charts.sigmoid_mark": "(sigmoid)",

    "grid.hint": "For each image: one row per phrasing set, one column per model. The top label is the dark "
                 "bar. Orange charts are sigmoid models, whose scores are independent per label and cannot be "
                 "compared with softmax probabilities.",
    "grid.no_result": "No result for {phrasing} with {model}.",
    "grid.alt": "Bar chart for {image}, {phrasing}, {model}: top label {label} at {probability}",
    "grid.top": "Top label: **{label}** ({probability})",

    "summary.top_header": "Top label per image, model and phrasing set",
    "summary.top_hint": "“Models agree”: every model puts the same label on top for this image and set. "
                        "“Phrasings agree”: this model puts the same label number on top in every set paired "
                        "with this one.",
    "summary.consistency_header": "Consistency between paired sets",
    "summary.consistency_hint": "For each model: on how many images two paired sets (for example English and "
                                "Spanish) put the same label number on top.",
    "summary.no_pairs": "No two phrasing sets have the same number of labels, so there is no pair to compare.",
    "summary.agreeing": "{agreeing} of {images}",
    "summary.yes": "yes",
    "summary.no": "no",

    "columns.image": "Image",
    "columns.model": "Model",
    "columns.phrasing": "Phrasing set",
    "columns.top_label": "Top label",
    "columns.probability": "Probability",
    "columns.kind": "Kind",
    "columns.models_agree": "Models agree",
    "columns.phrasings_agree": "Phrasings agree",
    "columns.set_a": "Set A",
    "columns.set_b": "Set B",
    "columns.agreeing": "Same top label",
    "columns.share": "Share",
    "columns.label": "Label",
    "columns.prompt": "Prompt",
    "columns.tokens": "Tokens",
    "columns.truncated": "Truncated",
    "columns.model_name": "Name",
    "columns.model_id": "Model id",
    "columns.languages": "Languages",
    "columns.params": "Parameters (M)",
    "columns.imagenet": "ImageNet top-1 (%)",
    "columns.status": "On this machine",
    "columns.description": "Description",

    "kind.softmax": "softmax (sums to 1)",
    "kind.sigmoid": "sigmoid (independent)",
    "languages.English": "English",
    "languages.multilingual": "multilingual",

    "heatmap.set": "Phrasing set",
    "heatmap.empty": "No results for {name}.",
    "heatmap.sigmoid_note": "Models marked {mark} give independent scores per label; read their cells apart "
                            "from the softmax models.",
    "heatmap.title": "Probability per label and model: {name}",
    "heatmap.alt": "Heatmap of probabilities, labels by models, for the phrasing set {name}",

    "difference.no_pairs": "The difference view needs two phrasing sets with the same number of labels.",
    "difference.first": "Set A",
    "difference.second": "Set B",
    "difference.title": "Change in probability from {first} to {second}",
    "difference.subtitle": "Each bar: probability with {second} minus probability with {first}, label by label",

    "prompts.empty": "No prompts were encoded.",
    "prompts.hint": "The exact strings given to each model's tokenizer, with their token counts.",
    "prompts.context": "Context length: {length} tokens; longer prompts are truncated.",
    "prompts.truncated": "{model}: the prompt for **{label}** has {tokens} tokens, over the context length of "
                         "{context}, so it is truncated.",
    "prompts.truncated_count": "{count} prompt(s) are longer than their model's context length and were "
                               "truncated; see the Prompts view.",
}

SPANISH = {
    "app.title": "CLIP Compare",
    "app.tagline": "Compara modelos CLIP y formulaciones de etiquetas sobre tus imágenes: probabilidades lado "
                   "a lado, en inglés y en español.",
    "app.loading_engine": "Cargando el motor de modelos (PyTorch y open_clip)…",

    "images.header": "Imágenes",
    "images.samples_hint": "Marca las fotos de ejemplo que quieras clasificar.",
    "images.upload": "Subir imágenes",
    "images.upload_help": "JPEG, PNG, WebP, GIF, BMP, TIFF… Los archivos se comprueban por su contenido, "
                          "no por su nombre.",
    "images.shapes": "Formas (imagen generada)",
    "images.shapes_help": "No es una foto: {caption} dibujado por core.demo, el código que creó las "
                          "imágenes de entrenamiento del modelo de demostración. Ese modelo reconoce formas de "
                          "colores, no fotografías.",

    "errors.image": "**{name}** no se puede usar como imagen y se deja fuera; las demás imágenes siguen. "
                    "Motivo: {detail}",
    "errors.model": "No se pudo cargar **{name}** y se deja fuera; los demás modelos siguen. Detalles: {detail}",
    "errors.phrasing": "El conjunto de formulaciones **{name}** no es válido y se deja fuera. Detalles: {detail}",
    "errors.duplicate_set": "Hay dos conjuntos de formulaciones llamados **{name}**; solo se usa el primero. "
                            "Cambia el nombre del otro.",
    "errors.run": "No se pudo ejecutar la comparación. Detalles: {detail}",

    "models.header": "Modelos",
    "models.curated": "Modelos recomendados",
    "models.other": "Otros identificadores de modelo (uno por línea)",
    "models.other_help": "ARQ/ETIQUETA de open_clip (p. ej. ViT-B-16/openai), hf-hub:ORG/REPO, "
                         "local-dir:/ruta/a/carpeta o demo.",
    "models.will_download": "Estos modelos no están en este equipo y se descargarán al ejecutar la comparación: "
                            "{models}.",
    "models.offline_notice": "El modelo predeterminado {default} aún no está en este equipo, así que la página "
                             "empieza con el modelo de demostración sin conexión. Aún sin descargar: {models}. "
                             "Cada uno se descarga la primera vez que se usa, si hay red.",
    "models.facts": "Datos de los modelos recomendados",
    "models.demo_name": "Demo: formas de colores (demostración sin conexión, no es un CLIP real)",
    "models.status_demo": "incluido (demostración)",
    "models.status_cached": "en caché",
    "models.status_download": "se descargan unos {size} MB la primera vez",
    "models.facts_line": "{family} · {languages} · {params:.1f} M de parámetros · {status}",
    "models.download_item": "{name} (unos {size} MB)",

    "model_descriptions.ViT-B-32/openai": "La versión original de CLIP; la referencia clásica.",
    "model_descriptions.ViT-B-32/laion2b_s34b_b79k": "La misma arquitectura entrenada con LAION-2B: aísla el "
                                                     "efecto de los datos de entrenamiento.",
    "model_descriptions.xlm-roberta-base-ViT-B-32/laion5b_s13b_b90k": "Torre de texto multilingüe: etiquetas en "
                                                                      "español y unos 100 idiomas más.",
    "model_descriptions.ViT-B-16-SigLIP-i18n-256/webli": "SigLIP multilingüe: cada etiqueta se puntúa por "
                                                         "separado; contexto de texto de 64 tokens.",
    "model_descriptions.MobileCLIP2-S0/dfndr2b": "Pequeño y rápido: buena opción en la CPU de un portátil.",
    "model_descriptions.demo": "Un modelo diminuto entrenado en este repositorio con círculos, cuadrados y "
                               "triángulos rojos, verdes y azules, con descripciones en inglés y en español. "
                               "No es un CLIP real: sirve para probar la herramienta sin conexión.",

    "sets.header": "Conjuntos de formulaciones",
    "sets.hint": "Cada conjunto tiene un nombre, etiquetas (una por línea) y plantillas. Los conjuntos con el "
                 "mismo número de etiquetas forman pareja: la etiqueta 1 de uno equivale a la etiqueta 1 del "
                 "otro, y así se comparan el inglés y el español.",
    "sets.preset": "Pareja preparada",
    "sets.load_preset": "Cargar pareja",
    "sets.add": "Añadir conjunto",
    "sets.new_name": "Conjunto {number}",
    "sets.name": "Nombre",
    "sets.labels": "Etiquetas, una por línea",
    "sets.labels_help": "Una etiqueta por línea, o varias en una línea separadas por comas. Las líneas vacías "
                        "se ignoran.",
    "sets.template": "Plantilla",
    "sets.custom": "Plantillas propias, una por línea",
    "sets.custom_help": "Escribe {} donde va la etiqueta, p. ej. 'una foto de {}.'. Varias plantillas forman "
                        "un conjunto: sus vectores de texto se promedian por etiqueta.",
    "sets.dropped": "Se ignoraron {count} línea(s) de etiqueta vacías.",
    "sets.remove": "Quitar este conjunto",
    "sets.empty": "Escribe al menos una etiqueta, una por línea.",
    "sets.example_prompt": "Primer prompt: «{prompt}» ({count} plantilla(s) por etiqueta)",

    "presets.photos": "Fotos de ejemplo: English / Español",
    "presets.shapes": "Formas de la demo: English / Español",

    "templates.none": "Sin plantilla: solo la etiqueta",
    "templates.photo": "a photo of a {}. (inglés)",
    "templates.imagenet7": "Conjunto de ImageNet, 7 plantillas en inglés",
    "templates.imagenet80": "Conjunto de ImageNet, 80 plantillas en inglés",
    "templates.foto": "una foto de {}.",
    "templates.es7": "Conjunto en español, 7 plantillas",
    "templates.custom": "Plantillas propias…",
    "templates.other": "{name}: «{first}» ({count} plantillas)",

    "settings.header": "Configuración del experimento",
    "settings.download": "Descargar configuración (JSON)",
    "settings.upload": "Cargar configuración desde un archivo JSON",
    "settings.invalid": "Este archivo de configuración no se puede usar, así que no se cambió nada. "
                        "Problema: {detail}",
    "settings.loaded": "Configuración cargada. Imágenes que hay que añadir a mano (no están en esta copia o "
                       "se habían subido): {missing}",

    "results.no_images": "Elige al menos una imagen: marca una foto de ejemplo o el ejemplo de formas, o sube "
                         "una.",
    "results.no_models": "Elige al menos un modelo.",
    "results.no_sets": "Añade al menos un conjunto de formulaciones válido.",
    "results.retry": "Volver a intentar los modelos que fallaron",
    "results.running": "Clasificando con {count} modelo(s)…",

    "progress.download": "{model}: descargando pesos, {done:.0f} de {total:.0f} MB",
    "progress.images": "{model}: codificando imágenes, {done} de {total}",
    "progress.prompts": "{model}: codificando etiquetas, {done} de {total}",

    "views.label": "Vista",
    "views.grid": "Cuadrícula",
    "views.summary": "Resumen",
    "views.heatmap": "Mapa de calor",
    "views.difference": "Diferencia",
    "views.prompts": "Prompts",

    "downloads.csv": "Resultados (CSV)",
    "downloads.chart_help": "Descarga este gráfico como archivo de imagen.",

    "charts.label": "etiqueta",
    "charts.probability": "probabilidad",
    "charts.score": "puntuación independiente",
    "charts.model": "modelo",
    "charts.image": "imagen",
    "charts.difference": "cambio de probabilidad",
    "charts.softmax_subtitle": "softmax: probabilidades sobre estas etiquetas, suman 100 %",
    "charts.sigmoid_subtitle": "sigmoide: una puntuación independiente por etiqueta, no suman 100 %",
    "charts.sigmoid_mark": "(sigmoide)",

    "grid.hint": "Para cada imagen: una fila por conjunto de formulaciones y una columna por modelo. La "
                 "etiqueta ganadora es la barra oscura. Los gráficos naranjas son modelos sigmoide, cuyas "
                 "puntuaciones son independientes por etiqueta y no se pueden comparar con probabilidades "
                 "softmax.",
    "grid.no_result": "Sin resultado para {phrasing} con {model}.",
    "grid.alt": "Gráfico de barras de {image}, {phrasing}, {model}: etiqueta ganadora {label} con {probability}",
    "grid.top": "Etiqueta ganadora: **{label}** ({probability})",

    "summary.top_header": "Etiqueta ganadora por imagen, modelo y conjunto",
    "summary.top_hint": "«Los modelos coinciden»: todos los modelos ponen la misma etiqueta arriba para esta "
                        "imagen y este conjunto. «Las formulaciones coinciden»: este modelo pone arriba el "
                        "mismo número de etiqueta en todos los conjuntos que forman pareja con este.",
    "summary.consistency_header": "Coherencia entre conjuntos emparejados",
    "summary.consistency_hint": "Para cada modelo: en cuántas imágenes dos conjuntos emparejados (por ejemplo, "
                                "inglés y español) ponen arriba el mismo número de etiqueta.",
    "summary.no_pairs": "No hay dos conjuntos de formulaciones con el mismo número de etiquetas, así que no hay "
                        "pareja que comparar.",
    "summary.agreeing": "{agreeing} de {images}",
    "summary.yes": "sí",
    "summary.no": "no",

    "columns.image": "Imagen",
    "columns.model": "Modelo",
    "columns.phrasing": "Conjunto",
    "columns.top_label": "Etiqueta ganadora",
    "columns.probability": "Probabilidad",
    "columns.kind": "Tipo",
    "columns.models_agree": "Los modelos coinciden",
    "columns.phrasings_agree": "Las formulaciones coinciden",
    "columns.set_a": "Conjunto A",
    "columns.set_b": "Conjunto B",
    "columns.agreeing": "Misma etiqueta ganadora",
    "columns.share": "Proporción",
    "columns.label": "Etiqueta",
    "columns.prompt": "Prompt",
    "columns.tokens": "Tokens",
    "columns.truncated": "Truncada",
    "columns.model_name": "Nombre",
    "columns.model_id": "Identificador",
    "columns.languages": "Idiomas",
    "columns.params": "Parámetros (M)",
    "columns.imagenet": "ImageNet top-1 (%)",
    "columns.status": "En este equipo",
    "columns.description": "Descripción",

    "kind.softmax": "softmax (suma 1)",
    "kind.sigmoid": "sigmoide (independiente)",
    "languages.English": "inglés",
    "languages.multilingual": "multilingüe",

    "heatmap.set": "Conjunto de formulaciones",
    "heatmap.empty": "No hay resultados para {name}.",
    "heatmap.sigmoid_note": "Los modelos marcados con {mark} dan puntuaciones independientes por etiqueta; "
                            "léelos aparte de los modelos softmax.",
    "heatmap.title": "Probabilidad por etiqueta y modelo: {name}",
    "heatmap.alt": "Mapa de calor de probabilidades, etiquetas por modelos, del conjunto {name}",

    "difference.no_pairs": "La vista de diferencia necesita dos conjuntos con el mismo número de etiquetas.",
    "difference.first": "Conjunto A",
    "difference.second": "Conjunto B",
    "difference.title": "Cambio de probabilidad de {first} a {second}",
    "difference.subtitle": "Cada barra: probabilidad con {second} menos probabilidad con {first}, etiqueta a "
                           "etiqueta",

    "prompts.empty": "No se codificó ningún prompt.",
    "prompts.hint": "Las cadenas exactas que recibe el tokenizador de cada modelo, con su número de tokens.",
    "prompts.context": "Longitud de contexto: {length} tokens; los prompts más largos se truncan.",
    "prompts.truncated": "{model}: el prompt de **{label}** tiene {tokens} tokens, más que la longitud de "
                         "contexto de {context}, así que se trunca.",
    "prompts.truncated_count": "{count} prompt(s) superan la longitud de contexto de su modelo y se "
                               "truncaron; consulta la vista Prompts.",
}

ENGLISH.update(i18n_pages.ENGLISH)
SPANISH.update(i18n_pages.SPANISH)
STRINGS = {"en": ENGLISH, "es": SPANISH}


def language() -> str:
    """Return the chosen language code, English until the user picks another."""
    chosen = st.session_state.get(LANGUAGE_KEY, DEFAULT_LANGUAGE)
    return chosen if chosen in STRINGS else DEFAULT_LANGUAGE


def t(key: str, /, **values) -> str:
    """Return the string ``key`` in the chosen language, with ``values`` filled in.

    A string missing from the chosen language falls back to English rather than
    failing. The tests check that both languages have every key.
    """
    template = STRINGS[language()].get(key)
    if template is None:
        template = ENGLISH[key]
    return template.format(**values) if values else template


def has_text(key: str) -> bool:
    """Tell whether ``key`` names a string (used for optional per-model texts)."""
    return key in ENGLISH


def percent(value: float, digits: int = 1) -> str:
    """Format a probability as a percentage the way the chosen language writes it."""
    if language() == "es":
        return f"{value * 100:.{digits}f}".replace(".", ",") + " %"
    return f"{value * 100:.{digits}f}%"
